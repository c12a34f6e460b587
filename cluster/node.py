"""The real node: containerd (CRI), the kubelet and kube-proxy, with the bridge CNI.

Each setting below was needed on these machines (CONTAINERS_AND_CLUSTER.md):
cgroup v1 is still accepted (``failCgroupV1: false``) with the cgroupfs driver; the
CRI keeps pods' oom_score_adj at or above its own (the machine lacks CAP_SYS_RESOURCE,
and runc fails every sandbox without it); the sandbox image is a local one; image
garbage collection is off, since the node's images are imported, not pulled.
Everything the node writes lives under the cluster's workdir.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from cluster.settings import CNI_BIN, PAUSE_IMAGE, ROOT, TOOLS_BIN, Settings

GPU_RESOURCE = "nvidia.com/gpu"
GPU_LABEL = "cloud.google.com/gke-accelerator=fake-gpu"
# GKE's taint on GPU nodes. The one node here also runs everything else, so the taint is
# put on only while placement is checked (tests/test_cluster_placement.py).
GPU_TAINT = f"{GPU_RESOURCE}=present:NoSchedule"


def containerd_config(s: Settings) -> str:
    root = s.workdir / "containerd"
    return f"""\
version = 3
root = "{root / "root"}"
state = "{s.workdir / "run" / "containerd"}"
# NRI and tracing reach for sockets and endpoints outside the workdir; the node needs neither.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{s.containerd_socket}"
[ttrpc]
  address = "{s.containerd_socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{root / "opt"}"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{shutil.which("runc") or "runc"}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{CNI_BIN}"]
    conf_dir = "{s.workdir / "cni" / "net.d"}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{PAUSE_IMAGE}"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""


def cni_config(s: Settings) -> str:
    """The bridge plugin on the pre-made bridge; addresses from host-local; no masquerade
    (pods need nothing outside the machine), so CNI adds no iptables rule."""
    bridge = {
        "type": "bridge",
        "bridge": s.bridge,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": s.pod_cidr, "gateway": s.node_ip}]],
            "dataDir": str(s.workdir / "cni" / "ipam"),
        },
    }
    return json.dumps({"cniVersion": "1.0.0", "name": "imgclf", "plugins": [bridge]}, indent=2)


def kubelet_config(s: Settings) -> str:
    return f"""\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35+ refuses cgroup v1 unless told; these machines mount v1 controllers.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{s.containerd_socket}
address: {s.node_ip}
port: {s.ports.kubelet}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {s.ports.kubelet_healthz}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {s.pki / "ca.crt"}
authorization:
  mode: Webhook
failSwapOn: false
# Images are imported (make images), not pulled: collecting one would break the next pod.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
podLogsDir: {s.workdir / "pod-logs"}
resolvConf: /etc/resolv.conf
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
shutdownGracePeriod: 0s
"""


def write_configs(s: Settings) -> None:
    files = {
        s.workdir / "containerd" / "config.toml": containerd_config(s),
        s.workdir / "cni" / "net.d" / "10-imgclf.conflist": cni_config(s),
        s.workdir / "kubelet" / "config.yaml": kubelet_config(s),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    s.containerd_socket.parent.mkdir(parents=True, exist_ok=True)


def containerd_args(s: Settings) -> list[str]:
    return [
        str(TOOLS_BIN / "containerd"),
        "--config",
        str(s.workdir / "containerd" / "config.toml"),
    ]


def kubelet_args(s: Settings) -> list[str]:
    labels = f"kubernetes.io/os=linux,{GPU_LABEL}" if s.fake_gpu else "kubernetes.io/os=linux"
    return [
        str(TOOLS_BIN / "kubelet"),
        f"--config={s.workdir / 'kubelet' / 'config.yaml'}",
        f"--kubeconfig={s.kubeconfig}",
        f"--root-dir={s.kubelet_root}",
        f"--cert-dir={s.workdir / 'kubelet' / 'pki'}",
        f"--node-ip={s.node_ip}",
        f"--hostname-override={s.node_name}",
        f"--node-labels={labels}",
    ]


def kube_proxy_args(s: Settings) -> list[str]:
    return [
        str(TOOLS_BIN / "kube-proxy"),
        f"--kubeconfig={s.kubeconfig}",
        f"--hostname-override={s.node_name}",
        "--proxy-mode=iptables",
        f"--cluster-cidr={s.pod_cidr}",
        f"--nodeport-addresses={s.pod_cidr}",
        f"--healthz-bind-address=127.0.0.1:{s.ports.proxy_healthz}",
        f"--metrics-bind-address=127.0.0.1:{s.ports.proxy_metrics}",
        # The machine may not raise nf_conntrack_max; the kernel's value is enough here.
        "--conntrack-max-per-core=0",
    ]


def cleanup_kube_proxy() -> None:
    """``kube-proxy --cleanup``: remove every rule and chain kube-proxy writes."""
    subprocess.run(
        [str(TOOLS_BIN / "kube-proxy"), "--cleanup"], capture_output=True, timeout=60, check=False
    )


def ctr(
    s: Settings, *args: str, stdin: IO[bytes] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``ctr`` against the node's containerd, in the CRI's namespace (k8s.io)."""
    return subprocess.run(
        [str(TOOLS_BIN / "ctr"), "--address", str(s.containerd_socket), "-n", "k8s.io", *args],
        stdin=stdin,
        capture_output=True,
        timeout=600,
        check=False,
    )


def wait_containerd(s: Settings, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ctr(s, "version").returncode == 0:
            return
        time.sleep(0.3)
    raise TimeoutError(f"containerd did not answer on {s.containerd_socket} in {timeout_s:.0f}s")


def build_pause_image() -> None:
    """The sandbox image: the static ``pause`` program FROM scratch (no registry here)."""
    from pipelines.container_engine import cli

    if cli("image", "exists", PAUSE_IMAGE, check=False).returncode == 0:
        return
    with tempfile.TemporaryDirectory(prefix="imgclf-pause-") as tmp:
        shutil.copy(TOOLS_BIN / "pause", Path(tmp) / "pause")
        containerfile = ROOT / "scripts" / "cluster" / "pause.Containerfile"
        cli("build", "--file", str(containerfile), "--tag", PAUSE_IMAGE, tmp, timeout=300)


def import_image(s: Settings, image: str) -> None:
    """``podman save`` the image and import it into the node's containerd (k8s.io)."""
    from pipelines.container_engine import engine, engine_env

    save = subprocess.Popen(
        [engine(), "save", "--format", "docker-archive", image],
        stdout=subprocess.PIPE,
        env=engine_env(),
    )
    assert save.stdout is not None
    result = ctr(s, "images", "import", "-", stdin=save.stdout)
    save.stdout.close()
    if save.wait() != 0 or result.returncode != 0:
        raise RuntimeError(
            f"importing {image} into the node failed: {result.stderr.decode()[-500:]}"
        )


def remove_all_containers(s: Settings) -> None:
    """Kill and delete every container task the node's containerd still runs."""
    for _ in range(3):
        tasks = ctr(s, "tasks", "ls", "-q").stdout.decode().split()
        containers = ctr(s, "containers", "ls", "-q").stdout.decode().split()
        if not tasks and not containers:
            return
        for task in tasks:
            ctr(s, "tasks", "kill", "-s", "SIGKILL", task)
        time.sleep(1)
        for task in tasks:
            ctr(s, "tasks", "delete", "-f", task)
        for container in containers:
            ctr(s, "containers", "delete", container)
