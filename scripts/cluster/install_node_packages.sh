#!/usr/bin/env bash
# Installs the local cluster's Debian packages (versions.sh: NODE_PACKAGES): runc, the CNI
# plugins, iptables, conntrack. The rest of the node is built: build_node_tools.sh.
set -euo pipefail
cd "$(dirname "$0")"
source versions.sh
exec bash ../apt_install.sh "${NODE_PACKAGES[@]}"
