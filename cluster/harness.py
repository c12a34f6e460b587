"""Start and stop the whole local cluster: control plane, node, add-ons, images.

``up`` is all or nothing: any step that fails undoes every earlier one before the error
is raised, and what was started is recorded as it starts (state.py), so ``down`` finds it
even after a crash. ``down`` removes pods' containers, stops every process, unmounts what
the node mounted, and removes the routes, links, iptables chains and cgroups it added.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cluster import addons, control_plane, network, node, preflight
from cluster.settings import PAUSE_IMAGE, TOOLS_BIN, Settings
from cluster.state import State, alive, log_tail, start_process, stop_process

# Stopped in this order: the node's programs first (no pod is restarted), the control
# plane last (kwokctl stops it).
FIELD_MANAGER = "imgclf-cluster"
PROCESS_ORDER = ("traefik", "metrics-server", "kube-proxy", "kubelet", "containerd")


class ClusterError(RuntimeError):
    """The cluster failed to start; everything it had started was removed again."""


@dataclass
class Cluster:
    """A running local cluster: ``kubectl()`` runs the built kubectl against it."""

    settings: Settings

    @property
    def kubeconfig(self) -> Path:
        return self.settings.kubeconfig

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(TOOLS_BIN / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args[:3])}: {result.stderr.strip()}")
        return result

    def apply(
        self, manifests: str, *extra: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Server-side apply of a YAML stream (``extra``: e.g. ``--dry-run=server``)."""
        return self.kubectl(
            "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-", *extra,
            input=manifests, check=check,
        )  # fmt: skip


def up(s: Settings, images: tuple[str, ...] = ()) -> Cluster:
    """Start the cluster and load ``images`` into the node.

    Raises:
        PreflightError: the machine cannot run it (nothing was started).
        ClusterError: a step failed (everything started was stopped again).
    """
    preflight.check(s)
    s.workdir.mkdir(parents=True, exist_ok=True)
    state = State(netns_before=sorted(p.name for p in Path("/run/netns").glob("*")))
    state.save(s.state_file)
    cluster = Cluster(s)
    try:
        _start(cluster, state, images)
    except Exception as err:
        down(s)
        raise ClusterError(f"cluster-up failed, everything it started was removed: {err}") from err
    return cluster


def _start(cluster: Cluster, state: State, images: tuple[str, ...]) -> None:
    s = cluster.settings
    step(f"network: bridge {s.bridge} ({s.pod_cidr}), Services {s.service_cidr} routed to it")
    network.create_bridge(s, state, s.state_file)
    step("control plane (kwokctl: etcd, kube-apiserver, controller-manager, scheduler)")
    control_plane.start(s)
    step("node: containerd")
    node.write_configs(s)
    _spawn(s, state, "containerd", node.containerd_args(s))
    node.wait_containerd(s)
    step(f"node: images {PAUSE_IMAGE} {' '.join(images)}")
    node.build_pause_image()
    for image in (PAUSE_IMAGE, *images):
        started = time.monotonic()
        node.import_image(s, image)
        print(f"  {image}: imported in {time.monotonic() - started:.0f}s", flush=True)
    step("node: kubelet, kube-proxy")
    _spawn(s, state, "kubelet", node.kubelet_args(s))
    _spawn(s, state, "kube-proxy", node.kube_proxy_args(s))
    _wait(s, state, "node Ready", lambda: _node_ready(cluster), 120)
    if s.fake_gpu:
        _advertise_gpu(cluster)
    step("add-ons: metrics-server, Gateway API CRDs, Traefik")
    _spawn(s, state, "metrics-server", addons.metrics_server_args(s))
    cluster.apply(addons.metrics_api_manifest(s))
    for crd in addons.crd_files():
        cluster.kubectl(
            "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", str(crd)
        )
    cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    args, env = addons.traefik_args(s)
    _spawn(s, state, "traefik", args, env)
    ping = f"http://127.0.0.1:{s.ports.traefik_api}/ping"
    _wait(s, state, "Traefik", lambda: _http_ok(ping), 60)
    cluster.apply(addons.gateway_manifest(s))
    cluster.kubectl(
        "-n", "gateway-system", "wait", "--for=condition=Programmed", "gateway/gateway",
        "--timeout=60s",
    )  # fmt: skip
    _wait(s, state, "metrics API", lambda: _metrics_ready(cluster), 120)


def down(s: Settings) -> None:
    """Stop and remove everything ``up`` started (idempotent)."""
    state = State.load(s.state_file)
    running = {name for name, pid in state.processes.items() if alive(pid)}
    if {"containerd", "kubelet"} <= running and s.kubeconfig.exists():
        _evict_all_pods(Cluster(s))
    if "kubelet" in state.processes:
        stop_process(state.processes.pop("kubelet"))
    if "containerd" in running:
        node.remove_all_containers(s)
    for name in PROCESS_ORDER:
        if name in state.processes:
            stop_process(state.processes.pop(name))
    control_plane.stop(s)
    _kill_shims(s)
    _unmount_under(s.workdir)
    node.cleanup_kube_proxy()
    network.remove_kubelet_chains()
    network.remove_bridge(state)
    _remove_netns(state.netns_before)
    _remove_pod_cgroups()
    state.routes, state.bridge = [], ""
    state.save(s.state_file)
    for sub in ("containerd", "kubelet", "run", "cni"):
        shutil.rmtree(s.workdir / sub, ignore_errors=True)


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _spawn(
    s: Settings, state: State, name: str, args: list[str], env: dict[str, str] | None = None
) -> None:
    proc = start_process(name, args, s.logs, {"PATH": _path(), **(env or {})})
    state.processes[name] = proc.pid
    state.save(s.state_file)


def _path() -> str:
    return f"{TOOLS_BIN}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"


def _wait(s: Settings, state: State, what: str, ready, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        for name, pid in state.processes.items():
            if not alive(pid):
                raise RuntimeError(f"{name} exited:\n{log_tail(s.logs, name)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s:.0f}s (logs: {s.logs})")
        time.sleep(1)


def _node_ready(cluster: Cluster) -> bool:
    result = cluster.kubectl(
        "get", "node", cluster.settings.node_name, "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False,
    )  # fmt: skip
    return result.stdout.strip() == "True"


def _metrics_ready(cluster: Cluster) -> bool:
    return cluster.kubectl("top", "node", check=False).returncode == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _advertise_gpu(cluster: Cluster) -> None:
    """A fake ``nvidia.com/gpu: 1`` in the node's capacity: the scheduler places the train
    step's pod by it (placement only, no CUDA). The label comes with the kubelet."""
    ops = '[{"op": "add", "path": "/status/capacity/nvidia.com~1gpu", "value": "1"}]'
    cluster.kubectl(
        "patch", "node", cluster.settings.node_name, "--subresource=status", "--type=json",
        "-p", ops,
    )  # fmt: skip


def _kill_shims(s: Settings) -> None:
    """containerd-shim-runc-v2 processes of this node's containerd (they outlive it)."""
    address = str(s.containerd_socket)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            cmdline
            and cmdline[0].endswith(b"containerd-shim-runc-v2")
            and address.encode() in cmdline
        ):
            stop_process(int(proc.name), grace_s=2)


def _unmount_under(root: Path) -> None:
    """Unmount everything mounted below ``root`` (overlays, shm, netns), deepest first."""
    targets = subprocess.run(
        ["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True, check=False
    ).stdout.split()
    prefix = str(root.resolve()) + "/"
    for target in sorted((t for t in targets if t.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def _remove_pod_cgroups() -> None:
    """The kubelet's kubepods cgroups in every v1 hierarchy, deepest first (a cgroup with
    no process and no child can be removed; its control files go with it)."""
    for top in Path("/sys/fs/cgroup").glob("*/kubepods"):
        for path in sorted(top.rglob("*/"), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def _remove_netns(keep: list[str]) -> None:
    """Pod network namespaces containerd left in /run/netns (all but those in ``keep``)."""
    netns = Path("/run/netns")
    for entry in netns.glob("cni-*") if netns.is_dir() else []:
        if entry.name not in keep:
            subprocess.run(["umount", str(entry)], capture_output=True, check=False)
            with contextlib.suppress(OSError):
                entry.unlink()


def _evict_all_pods(cluster: Cluster, timeout_s: float = 60) -> None:
    """Taint the node NoExecute and force-delete every pod, then wait until the kubelet
    has stopped every sandbox (that is what tears down their networks cleanly)."""
    s = cluster.settings
    cluster.kubectl("taint", "node", s.node_name, "imgclf.dev/shutdown=:NoExecute",
                    "--overwrite", check=False, timeout=30)  # fmt: skip
    cluster.kubectl("delete", "pods", "--all", "--all-namespaces", "--force",
                    "--grace-period=0", "--wait=false", check=False, timeout=60)  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and node.ctr(s, "tasks", "ls", "-q").stdout.strip():
        time.sleep(1)
