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


def test_a_range_already_routed_here_is_refused(tmp_path):
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    nets = [line.split()[0] for line in routes.splitlines() if "/" in line.split()[0]]
    if not nets:
        pytest.skip("this machine has no routed IPv4 network to collide with")
    s = Settings(workdir=tmp_path, service_cidr=nets[0])
    assert any(f"already routed here: {nets[0]}" in p for p in preflight.problems(s))


def test_missing_cgroup_controllers_are_named(tmp_path):
    assert preflight.missing_cgroup_controllers(tmp_path) == ["cpu", "memory", "pids", "cpuset"]
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")  # cgroup v2 without cpuset
    assert preflight.missing_cgroup_controllers(tmp_path) == ["cpuset"]
    assert preflight.missing_cgroup_controllers(Path("/sys/fs/cgroup")) == []


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
