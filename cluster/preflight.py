"""Checks before anything starts: each problem is one line naming what to fix.

A machine that cannot run the node (no cgroup controllers, a binary missing, a port in
use, a range that cannot be routed to the node's bridge or is already routed elsewhere)
is refused before a process starts,
a rule is written or a route added.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from cluster.network import range_conflicts, unusable_ranges
from cluster.settings import (
    ADDONS,
    CNI_BIN,
    CNI_PLUGINS,
    CONTROL_PLANE,
    HOST_PROGRAMS,
    NODE,
    TOOLS_BIN,
    Settings,
)

CGROUP_CONTROLLERS = ("cpu", "memory", "pids", "cpuset")
# A unix socket's path holds at most 107 bytes; the kubelet's longest below its root dir is
# pod-resources/<10 digits> (measured: a longer workdir fails with "bind: invalid argument").
SOCKET_PATH_MAX = 107
KUBELET_SOCKET_SUFFIX = len("/pod-resources/0123456789")


class PreflightError(RuntimeError):
    """This machine cannot run the cluster; the message says what is missing."""


def problems(s: Settings) -> list[str]:
    """Everything that would stop the cluster from starting, one line each."""
    found: list[str] = []
    if os.geteuid() != 0:
        found.append("the node needs root (containerd, the kubelet and kube-proxy); run as root")
    missing = [b for b in (*CONTROL_PLANE, *NODE, *ADDONS) if not os.access(TOOLS_BIN / b, os.X_OK)]
    if missing:
        found.append(
            f"missing in {TOOLS_BIN}: {', '.join(missing)}: run `make k8s-tools cluster-tools`"
        )
    programs = [p for p in HOST_PROGRAMS if shutil.which(p) is None]
    plugins = [p for p in CNI_PLUGINS if not (CNI_BIN / p).exists()]
    if programs or plugins:
        names = programs + [f"{CNI_BIN}/{p}" for p in plugins]
        found.append(
            f"missing: {', '.join(names)}: run `bash scripts/cluster/install_node_packages.sh`"
        )
    longest = len(str(s.kubelet_root.resolve())) + KUBELET_SOCKET_SUFFIX
    if longest > SOCKET_PATH_MAX:
        found.append(
            f"the workdir {s.workdir} is too long for the node's unix sockets ({longest} > "
            f"{SOCKET_PATH_MAX} bytes): set IMGCLF_CLUSTER_DIR to a shorter path"
        )
    controllers = missing_cgroup_controllers()
    if controllers:
        found.append(f"no cgroup controllers for {', '.join(controllers)} under /sys/fs/cgroup")
    for name, port in s.ports.all().items():
        host = "127.0.0.1" if name in ("apiserver", "etcd", "etcd_peer") else "0.0.0.0"
        if port_in_use(host, port):
            found.append(
                f"port {port} ({name}) is in use: another cluster (`make cluster-down`) or "
                "another program holds it"
            )
    unusable = unusable_ranges(s)
    found.extend(unusable)
    for route in [] if unusable else range_conflicts(s):
        found.append(
            f"the cluster's ranges ({s.pod_cidr}, {s.service_cidr}) are already routed here: "
            f"{route}: set IMGCLF_CLUSTER_POD_CIDR and IMGCLF_CLUSTER_SERVICE_CIDR to free ones"
        )
    return found


def missing_cgroup_controllers(root: Path = Path("/sys/fs/cgroup")) -> list[str]:
    """Controllers neither mounted as cgroup v1 hierarchies nor enabled in cgroup v2."""
    v2 = root / "cgroup.controllers"
    enabled = set(v2.read_text().split()) if v2.exists() else set()
    return [c for c in CGROUP_CONTROLLERS if c not in enabled and not (root / c).is_dir()]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check(s: Settings) -> None:
    """Raise :class:`PreflightError` listing every problem found."""
    found = problems(s)
    if found:
        raise PreflightError("cluster-up: " + "\ncluster-up: ".join(found))
