"""A real Kubernetes control plane for tests: kube-apiserver, etcd, kube-controller-manager
and kube-scheduler started on loopback by ``kwokctl --runtime binary``, with one KWOK fake
node that marks scheduled pods Running and Ready (no container runs).

The binaries come from ``make k8s-tools`` (scripts/build_k8s_tools.sh) in build/tools/bin.
Without them the fixtures skip with the reason, unless K8S_REQUIRE_CLUSTER=1 (set by
``make test``, which builds them) turns that into a failure.

Fixtures (exposed through conftest.py):
    k8s_cluster           the running cluster (session): kubeconfig, kubectl()
    predictor_deployment  the local overlay applied with server-side apply and rolled out
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(os.environ.get("K8S_TOOLS_BIN", ROOT / "build" / "tools" / "bin"))
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok")
NAMESPACE = "imgclf"
FIELD_MANAGER = "imgclf-tests"

# The real module is a script (scripts/check_manifests.py, run by make); load it by path.
_spec = importlib.util.spec_from_file_location(
    "check_manifests", ROOT / "scripts" / "check_manifests.py"
)
assert _spec and _spec.loader
check_manifests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_manifests)

# kwokctl reads its options from this file rather than ~/.kwok: nothing outside the test's
# directory is touched, and every component listens on 127.0.0.1 only.
KWOKCTL_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
"""


def require_tools(*names: str) -> None:
    """Skip (or fail under K8S_REQUIRE_CLUSTER=1) when a tool binary is not built."""
    missing = [n for n in names if not os.access(TOOLS_BIN / n, os.X_OK)]
    if not missing:
        return
    reason = f"{', '.join(missing)} not in {TOOLS_BIN}: run `make k8s-tools k8s-lint-tools`"
    if os.environ.get("K8S_REQUIRE_CLUSTER") == "1":
        pytest.fail(f"K8S_REQUIRE_CLUSTER=1 but {reason}")
    pytest.skip(reason)


@dataclass
class KwokCluster:
    """A running kwokctl cluster; ``kubectl()`` runs the built kubectl against it."""

    name: str
    workdir: Path
    kubeconfig: Path

    def env(self) -> dict[str, str]:
        # kwokctl finds kubectl on PATH; KWOK_WORKDIR keeps its state in the test directory.
        return {
            **os.environ,
            "PATH": f"{TOOLS_BIN}:{os.environ.get('PATH', '')}",
            "KWOK_WORKDIR": str(self.workdir),
            "KUBECONFIG": str(self.kubeconfig),
        }

    def kwokctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run([str(TOOLS_BIN / "kwokctl"), *args, "--name", self.name], self.env())

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return _run([str(TOOLS_BIN / "kubectl"), *args], self.env(), input=input, check=check)

    def apply(self, manifests: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """Server-side apply of a YAML stream, as `kubectl apply --server-side` does."""
        return self.kubectl(
            "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-", *extra,
            input=manifests, check=False,
        )  # fmt: skip


def _run(
    args: list[str], env: dict[str, str], input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, env=env, input=input, capture_output=True, text=True, timeout=300, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


def start_cluster(workdir: Path, name: str) -> KwokCluster:
    """Create and start the cluster with every binary given as a local path (no downloads)."""
    config = workdir / "kwokctl.yaml"
    config.write_text(KWOKCTL_CONFIG)
    cluster = KwokCluster(name=name, workdir=workdir, kubeconfig=workdir / "kubeconfig")
    binaries = {
        "--etcd-binary": "etcd",
        "--kube-apiserver-binary": "kube-apiserver",
        "--kube-controller-manager-binary": "kube-controller-manager",
        "--kube-scheduler-binary": "kube-scheduler",
        "--kwok-controller-binary": "kwok",
    }
    args = ["-c", str(config), "create", "cluster", "--runtime", "binary"]
    for flag, binary in binaries.items():
        args += [flag, str(TOOLS_BIN / binary)]
    args += ["--kubeconfig", str(cluster.kubeconfig), "--wait", "2m"]
    cluster.kwokctl(*args)
    # kwokctl's default node has no ephemeral-storage, which the predictor requests.
    cluster.kwokctl(
        "scale", "node", "--replicas", "1",
        "--param", '.allocatable["ephemeral-storage"]="100Gi"',
    )  # fmt: skip
    return cluster


def stop_cluster(cluster: KwokCluster) -> None:
    cluster.kwokctl("delete", "cluster")


def wait_rollout(cluster: KwokCluster, deployment: str, timeout_s: int = 120) -> float:
    """Block until the Deployment's rollout completes; return the seconds it took."""
    start = time.monotonic()
    cluster.kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{deployment}", f"--timeout={timeout_s}s"
    )
    return time.monotonic() - start


@pytest.fixture(scope="session")
def k8s_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KwokCluster]:
    """A real control plane on loopback for the session; deleted afterwards."""
    require_tools(*CONTROL_PLANE, "kwokctl", "kubectl")
    workdir = tmp_path_factory.mktemp("kwok")
    cluster = start_cluster(workdir, name=f"imgclf-test-{os.getpid()}")
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture(scope="session")
def predictor_deployment(k8s_cluster: KwokCluster) -> KwokCluster:
    """k8s/overlays/local rendered, server-side applied, and the predictor rolled out."""
    require_tools("kustomize")
    rendered = check_manifests.render(ROOT / "k8s" / "overlays" / "local")
    result = k8s_cluster.apply(rendered)
    if result.returncode != 0:
        raise RuntimeError(f"server-side apply of k8s/overlays/local failed: {result.stderr}")
    wait_rollout(k8s_cluster, "predictor")
    return k8s_cluster
