#!/usr/bin/env bash
# Installs what `make images` and the container tests need from Debian's packages (CI, a
# fresh machine): podman and buildah (the engine), runc (the OCI runtime the project's
# containers.conf selects), mmdebstrap (the local bases) and busybox-static (the probe the
# predictor container tests mount). Podman reads scripts/images/containers.conf
# (CONTAINERS_CONF), so nothing under /etc is configured.
set -euo pipefail
exec bash "$(dirname "$0")/../apt_install.sh" podman buildah runc mmdebstrap busybox-static
