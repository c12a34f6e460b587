"""``make cluster-up``'s refusals and cleanup (they run before the session's cluster starts,
conftest.py): each missing piece is one line and a non-zero exit, and a start that fails
half-way leaves nothing running. Also: every component's version is pinned in one place."""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from k8s_cluster import ROOT, unavailable

from cluster import footprint, preflight
from cluster.settings import TOOLS_BIN, Settings, pinned_versions


def test_a_workdir_too_long_for_unix_sockets_is_refused(tmp_path):
    s = Settings(workdir=tmp_path / ("x" * 80))
    assert any("too long for the node's unix sockets" in p for p in preflight.problems(s))


def _cluster_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cluster", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "IMGCLF_CLUSTER_DIR": str(tmp_path / "cluster"), **env}, timeout=900,
    )  # fmt: skip


@pytest.fixture
def short_tmp():
    """A directory short enough for the node's unix sockets (pytest's tmp_path may not be)."""
    path = Path(tempfile.mkdtemp(prefix="imgclf-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _require_runnable(s: Settings) -> None:
    found = preflight.problems(s)
    if found:
        unavailable("; ".join(found))


def _cli_settings(tmp_path: Path) -> Settings:
    """What `python -m cluster` uses under _cluster_cli (IMGCLF_CLUSTER_DIR)."""
    return Settings(workdir=tmp_path / "cluster")


def test_missing_binaries_are_named_in_one_line(tmp_path):
    before = footprint.take(_cli_settings(tmp_path))
    result = _cluster_cli(tmp_path, "up", K8S_TOOLS_BIN=str(tmp_path / "empty"))
    assert result.returncode == 1
    line = next(x for x in result.stderr.splitlines() if "missing in" in x)
    assert "kube-apiserver" in line and "kubelet" in line and "make k8s-tools cluster-tools" in line
    assert before.diff(footprint.take(_cli_settings(tmp_path))) == []


def test_port_in_use_is_refused_before_anything_starts(short_tmp):
    tmp_path = short_tmp
    s = _cli_settings(tmp_path)
    _require_runnable(s)
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        holder.bind(("127.0.0.1", s.ports.apiserver))
        holder.listen()
        before = footprint.take(_cli_settings(tmp_path))
        result = _cluster_cli(tmp_path, "up")
        assert result.returncode == 1
        assert f"port {s.ports.apiserver} (apiserver) is in use" in result.stderr
        assert before.diff(footprint.take(_cli_settings(tmp_path))) == []


def _cluster_cli_in(namespace_setup: str, unshare: str, tmp_path: Path, **env: str):
    """``python -m cluster up`` in new namespaces (``unshare``'s flags) that
    ``namespace_setup`` (shell) prepares: what it sees there goes when it exits."""
    command = f"{namespace_setup} && exec {sys.executable} -m cluster up"
    return subprocess.run(
        ["unshare", *unshare.split(), "sh", "-ec", command], cwd=ROOT, capture_output=True,
        text=True, env={**os.environ, "IMGCLF_CLUSTER_DIR": str(tmp_path / "cluster"), **env},
        timeout=300,
    )  # fmt: skip


def _one_line_refusal(result: subprocess.CompletedProcess[str], words: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [x for x in result.stderr.splitlines() if words in x]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_range_already_routed_here_is_refused(tmp_path):
    """In a network namespace of its own with one network routed (a bridge), the CLI
    is asked to use that network for Services."""
    if os.geteuid() != 0:
        unavailable("network namespaces need root")
    before = footprint.take(_cli_settings(tmp_path))
    setup = (
        "ip link add lan0 type bridge && ip addr add 10.123.0.1/24 dev lan0 && ip link set lan0 up"
    )
    result = _cluster_cli_in(setup, "--net", tmp_path, IMGCLF_CLUSTER_SERVICE_CIDR="10.123.0.0/24")
    line = _one_line_refusal(result, "already routed here")
    assert "10.123.0.0/24 dev lan0" in line and "IMGCLF_CLUSTER_SERVICE_CIDR" in line
    assert before.diff(footprint.take(_cli_settings(tmp_path))) == []


@pytest.mark.parametrize(
    ("pod_cidr", "service_cidr", "words"),
    [
        ("10.244.0.0/24", "127.0.0.0/24", "the Service range 127.0.0.0/24 cannot be routed"),
        ("8.8.8.0/24", "10.96.0.0/24", "the pod range 8.8.8.0/24 cannot be routed"),
        ("10.244.0.0/24", "10.96.0.0/30", "the Service range 10.96.0.0/30 is too small"),
        ("10.244.0.0/16", "10.244.7.0/24", "the pod range 10.244.0.0/16 and the Service range"),
        ("10.244.0.1/24", "10.96.0.0/24", "the pod range '10.244.0.1/24' is not a network"),
    ],
)
def test_a_range_that_cannot_be_routed_to_the_bridge_is_refused(
    tmp_path, pod_cidr, service_cidr, words
):
    before = footprint.take(_cli_settings(tmp_path))
    env = {"IMGCLF_CLUSTER_POD_CIDR": pod_cidr, "IMGCLF_CLUSTER_SERVICE_CIDR": service_cidr}
    _one_line_refusal(_cluster_cli(tmp_path, "up", **env), words)
    assert before.diff(footprint.take(_cli_settings(tmp_path))) == []


def test_missing_cgroup_controllers_are_named(tmp_path):
    """In a mount namespace of its own, /sys/fs/cgroup is a cgroup v2 root without cpuset."""
    if os.geteuid() != 0:
        unavailable("mount namespaces need root")
    before = footprint.take(_cli_settings(tmp_path))
    setup = (
        "mount -t tmpfs cgroups /sys/fs/cgroup && "
        "echo 'cpu memory pids' > /sys/fs/cgroup/cgroup.controllers"
    )
    result = _cluster_cli_in(setup, "--mount --propagation private", tmp_path)
    line = _one_line_refusal(result, "no cgroup controllers")
    assert line == "cluster-up: no cgroup controllers for cpuset under /sys/fs/cgroup"
    assert preflight.missing_cgroup_controllers(Path("/sys/fs/cgroup")) == []  # the host's
    assert before.diff(footprint.take(_cli_settings(tmp_path))) == []


def test_a_start_that_fails_late_leaves_nothing_running(short_tmp):
    """Traefik, the last program started, fails: the control plane, containerd, kubelet,
    kube-proxy and metrics-server already run, and all of it must go again."""
    tmp_path = short_tmp
    _require_runnable(_cli_settings(tmp_path))
    tools = tmp_path / "bin"
    tools.mkdir()
    for binary in TOOLS_BIN.iterdir():
        (tools / binary.name).symlink_to(binary)
    (tools / "traefik").unlink()
    (tools / "traefik").write_text("#!/bin/sh\necho 'traefik: refusing to start' >&2\nexit 1\n")
    (tools / "traefik").chmod(0o755)
    before = footprint.take(_cli_settings(tmp_path))
    result = _cluster_cli(tmp_path, "up", "--image", "localhost/imgclf/pause:1",
                          K8S_TOOLS_BIN=str(tools))  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "traefik exited" in result.stderr and "everything it started was removed" in result.stderr
    )
    assert "node: kubelet, kube-proxy" in result.stdout  # it got that far
    assert before.diff(footprint.take(_cli_settings(tmp_path))) == []


def test_every_component_version_is_pinned_in_versions_sh():
    pinned = pinned_versions()
    k8s_mod = (ROOT / "tools" / "k8s" / "go.mod").read_text()
    traefik_mod = (ROOT / "tools" / "traefik" / "go.mod").read_text()
    assert re.search(rf"k8s\.io/kubernetes {re.escape(pinned['KUBERNETES_VERSION'])}\b", k8s_mod)
    staging = pinned["KUBERNETES_VERSION"].replace("v1.", "v0.")
    assert set(re.findall(r"=> k8s\.io/\S+ (v\S+)", k8s_mod)) == {staging}
    assert f"github.com/traefik/traefik/v3 {pinned['TRAEFIK_VERSION']}" in traefik_mod
    assert f"sigs.k8s.io/gateway-api {pinned['GATEWAY_API_VERSION']}" in traefik_mod
    scripts = " ".join(
        (ROOT / p).read_text()
        for p in ("scripts/build_k8s_tools.sh", "scripts/cluster/build_node_tools.sh")  # fmt: skip
    )
    # No script carries a version of its own: each comes from versions.sh.
    assert not re.search(r"@v\d", scripts)
