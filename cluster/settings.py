"""Every name, address range, port and path of the local cluster, in one place.

The ranges are the cluster's own: pods on the bridge ``imgclf0`` (10.244.0.0/24, the
node's address is the bridge's .1), Services on 10.96.0.0/24, routed to that bridge too.
Neither overlaps podman's default network (10.88.0.0/16), and a request to a Service
address can never take the machine's default route, even before kube-proxy has written
its rules (CONTAINERS_AND_CLUSTER.md: "Traffic stays on this machine").
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(os.environ.get("K8S_TOOLS_BIN", ROOT / "build" / "tools" / "bin"))
CNI_BIN = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
MANIFESTS = Path(__file__).resolve().parent / "manifests"

CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwokctl")
NODE = ("kubelet", "kube-proxy", "containerd", "containerd-shim-runc-v2", "ctr", "kubectl")
ADDONS = ("metrics-server", "traefik", "pause")
HOST_PROGRAMS = ("runc", "iptables", "ip6tables", "iptables-save", "ip", "mount", "umount")
CNI_PLUGINS = ("bridge", "host-local", "loopback")

VERSIONS_FILE = ROOT / "scripts" / "cluster" / "versions.sh"


def pinned_versions() -> dict[str, str]:
    """``NAME_VERSION`` -> version, as scripts/cluster/versions.sh pins them."""
    return dict(re.findall(r"^([A-Z_]+_VERSION)=(\S+)", VERSIONS_FILE.read_text(), re.M))


# The images the node gets (make images). The pause image is built by cluster-up itself.
PAUSE_IMAGE = "localhost/imgclf/pause:1"


@dataclass(frozen=True)
class Ports:
    """Host ports the cluster listens on (preflight checks each is free)."""

    apiserver: int = 6443
    etcd: int = 2379
    etcd_peer: int = 2380
    kubelet: int = 10250
    kubelet_healthz: int = 10248
    proxy_healthz: int = 10256
    proxy_metrics: int = 10249
    metrics_server: int = 4443
    gateway_http: int = 8080  # Traefik's "web" entry point, on the node address
    traefik_api: int = 8081  # Traefik's ping endpoint, on loopback

    def all(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Settings:
    """One cluster on this machine: where its state lives and what it claims."""

    workdir: Path
    name: str = "imgclf"
    node_name: str = "imgclf-node"
    bridge: str = "imgclf0"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/24"
    ports: Ports = field(default_factory=Ports)
    # Advertise a fake nvidia.com/gpu on the node, with GKE's GPU label, so the training
    # step's placement can be checked (placement only: there is no CUDA here).
    fake_gpu: bool = True

    @property
    def node_ip(self) -> str:
        """The node's address: the bridge's first host address (pods' gateway)."""
        return str(next(ipaddress.ip_network(self.pod_cidr).hosts()))

    @property
    def kwok_workdir(self) -> Path:
        return self.workdir / "kwok"

    @property
    def pki(self) -> Path:
        """The control plane's CA and admin certificate (kwokctl writes them)."""
        return self.kwok_workdir / "clusters" / self.name / "pki"

    @property
    def kubelet_root(self) -> Path:
        return self.workdir / "kubelet" / "root"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "run" / "containerd.sock"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def state_file(self) -> Path:
        """What `down` needs to undo `up` (processes, routes), written as things start."""
        return self.workdir / "state.json"


def default_settings() -> Settings:
    """`make cluster-up`'s cluster: state in build/cluster (IMGCLF_CLUSTER_DIR overrides);
    IMGCLF_CLUSTER_POD_CIDR and IMGCLF_CLUSTER_SERVICE_CIDR move its ranges off networks
    this machine already uses."""
    env = os.environ
    return Settings(
        workdir=Path(env.get("IMGCLF_CLUSTER_DIR", ROOT / "build" / "cluster")),
        pod_cidr=env.get("IMGCLF_CLUSTER_POD_CIDR", Settings.pod_cidr),
        service_cidr=env.get("IMGCLF_CLUSTER_SERVICE_CIDR", Settings.service_cidr),
    )
