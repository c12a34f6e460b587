#!/usr/bin/env bash
# apt_install.sh PACKAGE...: installs the Debian packages that are not installed yet (CI, a
# fresh machine), quietly; nothing under /etc is configured. Callers name what they need:
# scripts/images/install_engine.sh, scripts/cluster/install_node_packages.sh.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "ok installed" >/dev/null || missing+=("$pkg")
done
[ ${#missing[@]} -gt 0 ] || { echo "already installed: $*"; exit 0; }
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "==> apt-get install ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
