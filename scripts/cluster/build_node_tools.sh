#!/usr/bin/env bash
# Builds the local cluster's node pieces that are not Kubernetes itself, from the Go module
# proxy into build/tools/bin (K8S_TOOLS_BIN), at the versions in versions.sh:
#   containerd, ctr, containerd-shim-runc-v2   the CRI runtime (CGO off, no btrfs)
#   metrics-server                              feeds the HorizontalPodAutoscaler
#   traefik                                     the Gateway API implementation (tools/traefik)
#   pause                                       the pod sandbox's program (pause.c, static)
# Each piece has its own stamp, so a version bump rebuilds only that piece; GOCACHE and
# GOMODCACHE make a rebuild incremental. Cold on 2 cores: README "Local cluster".
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/cluster/versions.sh
bin=$(mkdir -p "${K8S_TOOLS_BIN:-build/tools/bin}" && cd "${K8S_TOOLS_BIN:-build/tools/bin}" && pwd)
# One build at a time: .ci/run starts this in the background and make test's first cluster
# test runs it again (tests/k8s_cluster.py), which then waits here and finds it all built.
exec 9>"$bin/.node-tools.lock"
flock 9
export CGO_ENABLED=0

# built NAME VERSION BINARY...: true when the stamp for NAME@VERSION and every binary exist.
built() {
  local name=$1 version=$2
  shift 2
  [ -e "$bin/.$name-$version" ] || return 1
  for b in "$@"; do [ -x "$bin/$b" ] || return 1; done
  echo "$name $version already in $bin"
}
stamp() { rm -f "$bin/.$1-"*; touch "$bin/.$1-$2"; }

if ! built containerd "$CONTAINERD_VERSION" containerd ctr containerd-shim-runc-v2; then
  echo "==> building containerd $CONTAINERD_VERSION"
  pkg=github.com/containerd/containerd/v2
  GOBIN="$bin" go install -trimpath -tags no_btrfs \
    -ldflags "-s -w -X $pkg/version.Version=$CONTAINERD_VERSION" \
    "$pkg/cmd/containerd@$CONTAINERD_VERSION" "$pkg/cmd/ctr@$CONTAINERD_VERSION" \
    "$pkg/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
  stamp containerd "$CONTAINERD_VERSION"
fi

if ! built metrics-server "$METRICS_SERVER_VERSION" metrics-server; then
  echo "==> building metrics-server $METRICS_SERVER_VERSION"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
  stamp metrics-server "$METRICS_SERVER_VERSION"
fi

if ! built traefik "$TRAEFIK_VERSION" traefik; then
  echo "==> building traefik $TRAEFIK_VERSION (cold: about 11 minutes)"
  (
    cd tools/traefik
    go build -trimpath -o "$bin/traefik" \
      -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
      github.com/traefik/traefik/v3/cmd/traefik
  )
  stamp traefik "$TRAEFIK_VERSION"
fi

pause_sum=$(sha256sum scripts/cluster/pause.c | cut -c1-12)
if ! built pause "$pause_sum" pause; then
  echo "==> building pause"
  gcc -static -Os -s -o "$bin/pause" scripts/cluster/pause.c
  stamp pause "$pause_sum"
fi
