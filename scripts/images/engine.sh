# Sourced by the image scripts: picks the container engine that can run here and sets
# ENGINE (podman or docker); run as a command, prints it (pipelines/container_engine.py). Podman gets the project's settings (containers.conf beside
# this file) through CONTAINERS_CONF; nothing under /etc is changed. IMAGE_ENGINE=docker
# or =podman forces one. Neither runnable: one line naming what is missing, exit 3.
images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$images_dir/containers.conf}

engine_runs() {
  command -v "$1" >/dev/null 2>&1 && "$1" info >/dev/null 2>&1
}

if [ -n "${IMAGE_ENGINE:-}" ]; then
  ENGINE=$IMAGE_ENGINE
  engine_runs "$ENGINE" || { echo "images: IMAGE_ENGINE=$ENGINE cannot run here ('$ENGINE info' fails)" >&2; exit 3; }
elif engine_runs podman; then
  ENGINE=podman
elif engine_runs docker; then
  ENGINE=docker
else
  echo "images: no container engine can run here: install podman (apt-get install podman buildah runc mmdebstrap) or start a Docker engine" >&2
  exit 3
fi
export ENGINE

# What the build containers need to reach the package registries the host reaches: its
# Go module proxy and pip settings as build arguments (build stages only), its CA bundle
# as a build secret (mounted per RUN, never in a layer). scripts/images/build_env.sh
# reads them inside the build.
build_network_args() {
  local args=(--build-arg "GOPROXY=$(go env GOPROXY 2>/dev/null || echo https://proxy.golang.org,direct)")
  args+=(--build-arg "PIP_INDEX_URL=${PIP_INDEX_URL:-https://pypi.org/simple}")
  local ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  [ ! -f "$ca" ] || args+=(--secret "id=host_ca,src=$ca")
  printf '%s\n' "${args[@]}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then echo "$ENGINE"; fi
