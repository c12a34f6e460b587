#!/usr/bin/env bash
# Installs what `make images` and the container tests need from Debian's packages (CI, a
# fresh machine): podman and buildah (the engine), runc (the OCI runtime the project's
# containers.conf selects), mmdebstrap (the local bases) and busybox-static (the probe the
# predictor container tests mount). Installs nothing that is already there; nothing under
# /etc is configured: podman reads scripts/images/containers.conf (CONTAINERS_CONF).
set -euo pipefail
packages=(podman buildah runc mmdebstrap busybox-static)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "ok installed" >/dev/null || missing+=("$pkg")
done
[ ${#missing[@]} -gt 0 ] || { echo "container tools already installed: ${packages[*]}"; exit 0; }
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "==> apt-get install ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
