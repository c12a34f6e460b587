# The single list of what the local cluster runs (make cluster-up, the cluster tests).
# Sourced by scripts/build_k8s_tools.sh, scripts/cluster/build_node_tools.sh and
# scripts/cluster/install_node_packages.sh; tests/test_cluster_harness.py checks that the
# Go modules that build them (tools/k8s/go.mod, tools/traefik/go.mod) pin the same.
# Everything is built from the Go module proxy or installed from Debian's packages.
# shellcheck disable=SC2034
KUBERNETES_VERSION=v1.36.3   # control plane, kubelet, kube-proxy, kubectl (tools/k8s)
KWOK_VERSION=v0.8.0          # kwokctl wires the control plane; released against 1.36
CONTAINERD_VERSION=v2.3.7    # CRI runtime (Debian's 1.6 is too old for 1.36)
METRICS_SERVER_VERSION=v0.8.0
TRAEFIK_VERSION=v3.6.12      # Gateway API implementation (tools/traefik)
GATEWAY_API_VERSION=v1.4.0   # CRDs, from the sigs.k8s.io/gateway-api module
# runc (OCI runtime), the CNI plugins (bridge, host-local, loopback, portmap), iptables for
# kube-proxy and the kubelet, conntrack for kube-proxy's stale-entry cleanup.
NODE_PACKAGES=(runc containernetworking-plugins iptables conntrack)
