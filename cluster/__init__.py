"""A single-node Kubernetes cluster on this machine: ``make cluster-up`` / ``make cluster-down``.

The real control plane (kwokctl wiring etcd, kube-apiserver, controller-manager and
scheduler), a real node (containerd, kubelet, kube-proxy, the bridge CNI), metrics-server
and Traefik as the Gateway API implementation; the images from ``make images`` are
loaded into the node. The tests use the same harness (tests/k8s_cluster.py).

Modules: settings (names, ranges, ports: one place), preflight (refuse early, one line
per problem), state (what was started, for ``down``), network (bridge, routes, iptables),
control_plane, node, addons, harness (``up``/``down``), footprint (the cleanup check).
"""
