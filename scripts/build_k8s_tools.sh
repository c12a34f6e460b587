#!/usr/bin/env bash
# Builds a real Kubernetes control plane and node for the cluster tests from the Go module
# proxy (no release downloads can be reached here): kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kubelet, kube-proxy and etcd from tools/k8s/go.mod, plus kwokctl,
# which wires the control plane together (certificates, flags). Output: build/tools/bin (K8S_TOOLS_BIN). Cached: a stamp naming the versions
# skips the build; GOCACHE/GOMODCACHE make a rebuild incremental. The node's other pieces
# (containerd, metrics-server, Traefik): scripts/cluster/build_node_tools.sh.
# Cold build on 2 cores: see README "Kubernetes" (measured, ~minutes and RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mkdir -p "${K8S_TOOLS_BIN:-build/tools/bin}" && cd "${K8S_TOOLS_BIN:-build/tools/bin}" && pwd)
# One build at a time: .ci/run starts this in the background and make test's first cluster
# test runs it again (tests/k8s_cluster.py), which then waits here and finds it all built.
exec 9>"$bin/.k8s-tools.lock"
flock 9

# One place for versions (tools/k8s/go.mod pins the same Kubernetes; a test checks).
source scripts/cluster/versions.sh
k8s_version=$KUBERNETES_VERSION
kwok_version=$KWOK_VERSION
stamp="$bin/.k8s-tools-$k8s_version-kwok-$kwok_version"
tools=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy etcd kwokctl)

have_all() { for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done; }
if [ -e "$stamp" ] && have_all; then
  echo "k8s tools $k8s_version (kwok $kwok_version) already in $bin"
  exit 0
fi

minor=${k8s_version#v1.}
minor=${minor%%.*}
# Without these the binaries report v0.0.0 and kwokctl picks flags for the wrong release.
version_pkg=k8s.io/component-base/version
ldflags="-s -w -X $version_pkg.gitVersion=$k8s_version -X $version_pkg.gitMajor=1"
ldflags+=" -X $version_pkg.gitMinor=$minor -X $version_pkg.gitTreeState=clean"

# Static binaries as upstream ships them; -s -w drop debug info (faster link, smaller).
export CGO_ENABLED=0
echo "==> building Kubernetes $k8s_version control plane and node into $bin"
(
  cd tools/k8s
  go build -trimpath -ldflags "$ldflags" -o "$bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy
  # etcd's main package is its server module root; `go install` of it fails (replaces).
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
)
# kwokctl has its own dependency graph (newer grpc/otel); building it inside tools/k8s would
# drag those into the control plane, so it is installed from its own go.mod. (Its kwok
# controller, which fakes nodes, is not used: the cluster's node is real.)
echo "==> installing kwokctl $kwok_version into $bin"
GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwokctl@$kwok_version"

rm -f "$bin"/.k8s-tools-*
touch "$stamp"
"$bin/kube-apiserver" --version
# sed, not head: head would exit early and SIGPIPE etcd, failing the script under pipefail.
"$bin/etcd" --version | sed -n 1p
"$bin/kwokctl" --version
