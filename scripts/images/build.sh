#!/usr/bin/env bash
# `make images`: builds the predictor and trainer images from Dockerfiles/*.Dockerfile with
# podman (buildah) or docker, whichever can run (scripts/images/engine.sh), tagged as the
# manifests and the compiled pipeline name them: $IMAGE_PREFIX/{predictor,trainer}:$IMAGE_TAG.
#
# IMAGE_BASES=local (podman's default here, where no registry can be reached) first
# assembles the bases from Debian packages (scripts/images/build_bases.sh) and passes them
# in as build arguments; IMAGE_BASES=upstream (docker's default) keeps the Dockerfiles'
# upstream defaults. The engine's layer cache and the Dockerfiles' cache mounts make a
# second run with nothing changed take seconds.
#   build.sh [predictor|trainer|bench-peers ...]   default: predictor and trainer
# bench-peers (make bench-images) is the Python peers of `bench/run.py --containers`, FROM the
# trainer image: build the trainer first.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/images/engine.sh

IMAGE_PREFIX=${IMAGE_PREFIX:-ghcr.io/imgclf}
IMAGE_TAG=${IMAGE_TAG:-$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)}
if [ "$ENGINE" = podman ]; then IMAGE_BASES=${IMAGE_BASES:-local}; else IMAGE_BASES=${IMAGE_BASES:-upstream}; fi

base_args=()
case $IMAGE_BASES in
  local)
    bash scripts/images/build_bases.sh all
    base_args=(
      --build-arg GOLANG_IMAGE=localhost/imgclf-base/golang:1.26-bookworm
      --build-arg RUNTIME_IMAGE=localhost/imgclf-base/distroless-cc:nonroot
      --build-arg PYTHON_IMAGE=localhost/imgclf-base/python:3.11-slim-bookworm
    )
    ;;
  upstream) ;;
  *) echo "images: IMAGE_BASES must be local or upstream, not '$IMAGE_BASES'" >&2; exit 2 ;;
esac
mapfile -t network_args < <(build_network_args)
# bench-peers.Dockerfile builds on the trainer image of this prefix and tag (build it after).
base_args+=(--build-arg "TRAINER_IMAGE=$IMAGE_PREFIX/trainer:$IMAGE_TAG")

declared_args() {  # dockerfile args...: the --build-arg pairs it declares an ARG for, and the rest
  local dockerfile=$1 out=()
  shift
  while [ $# -gt 0 ]; do
    if [ "$1" = --build-arg ]; then
      grep -q "^ARG ${2%%=*}\b" "$dockerfile" && out+=("$1" "$2")
      shift 2
    else
      out+=("$1")
      shift
    fi
  done
  printf '%s\n' "${out[@]}"
}

images=("$@")
[ ${#images[@]} -gt 0 ] || images=(predictor trainer)
for image in "${images[@]}"; do
  tag=$IMAGE_PREFIX/$image:$IMAGE_TAG
  dockerfile=Dockerfiles/$image.Dockerfile
  echo "==> building $tag with $ENGINE ($dockerfile, $IMAGE_BASES bases)"
  mapfile -t args < <(declared_args "$dockerfile" "${base_args[@]}" "${network_args[@]}")
  start=$SECONDS
  "$ENGINE" build --file "$dockerfile" --tag "$tag" "${args[@]}" .
  size=$("$ENGINE" image inspect --format '{{.Size}}' "$tag")
  echo "==> $tag: $((size / 1000000)) MB uncompressed, built in $((SECONDS - start)) s"
done
