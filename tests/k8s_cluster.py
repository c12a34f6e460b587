"""The local cluster for tests: the same harness as ``make cluster-up`` (cluster/), a real
control plane and a real node (containerd, kubelet, kube-proxy), metrics-server and
Traefik, with the predictor image from ``make images`` loaded.

It needs root and the binaries from ``make k8s-tools cluster-tools``; without them the
fixtures skip with the reason, unless K8S_REQUIRE_CLUSTER=1 (set by ``make test``) turns
that into a failure. Under K8S_REQUIRE_CLUSTER=1 the first cluster test builds them
(:func:`build_cluster_programs`), or waits for the build that ``.ci/run`` started in the
background when the run began, so the other tests need not wait for them. One cluster
runs per machine (its ports, bridge and kube-proxy's iptables chains are the machine's):
its state lives in IMGCLF_TEST_CLUSTER_DIR (default /var/lib/imgclf-tests), removed
afterwards.

Fixtures (exposed through conftest.py):
    k8s_cluster           the running cluster (session); checks at teardown that nothing
                          it added to the host (process, mount, rule, route) is left
    cluster_models        the node's model directory, served to pods through the PV
    predictor_deployment  the test overlay applied, the predictor rolled out on version 1
    admin                 an API client with the cluster admin's credentials
    deployer_kubeconfig   a kubeconfig for the pipeline's service account (only its Role)
    deployer              an API client from it
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import config

from cluster import footprint, harness, preflight
from cluster.harness import Cluster
from cluster.settings import TOOLS_BIN, Settings

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "imgclf"
MODEL = "lfw-faces"
TEST_OVERLAY = ROOT / "tests" / "k8s" / "cluster"
# The cluster tests, in the order they run (conftest.py): the start checks first, while no
# cluster is up; then the scenarios on the session's cluster, each building on the last.
CLUSTER_MODULES = (
    "test_cluster_harness",
    "test_cluster_serving",
    "test_k8s_cluster",
    "test_cluster_deploy",
    "test_cluster_gateway",
    "test_cluster_canary",
    "test_cluster_autoscale",
    "test_cluster_placement",
)
DEPLOYER = ("kubeflow", "pipeline-runner")  # the RoleBinding's subject (KFP's runner)
CLUSTER_DIR = Path(os.environ.get("IMGCLF_TEST_CLUSTER_DIR", "/var/lib/imgclf-tests"))

# The real module is a script (scripts/check_manifests.py, run by make); load it by path.
_spec = importlib.util.spec_from_file_location(
    "check_manifests", ROOT / "scripts" / "check_manifests.py"
)
assert _spec and _spec.loader
check_manifests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_manifests)


def unavailable(reason: str) -> None:
    """Skip, or fail under K8S_REQUIRE_CLUSTER=1 (make test builds everything first)."""
    if os.environ.get("K8S_REQUIRE_CLUSTER") == "1":
        pytest.fail(f"K8S_REQUIRE_CLUSTER=1 but {reason}")
    pytest.skip(reason)


BUILD_SCRIPTS = ("scripts/build_k8s_tools.sh", "scripts/cluster/build_node_tools.sh")


def build_cluster_programs() -> None:
    """Build the cluster's programs (``make k8s-tools cluster-tools``) under
    K8S_REQUIRE_CLUSTER=1. Each script takes a lock, so this waits for a build already
    running, then finds everything built (seconds); a failed build fails the test with
    its log's end."""
    if os.environ.get("K8S_REQUIRE_CLUSTER") != "1":
        return
    for script in BUILD_SCRIPTS:
        log = ROOT / "build" / f"{Path(script).stem}.pytest.log"
        with log.open("w") as out:
            done = subprocess.run(
                ["nice", "-n", "10", "bash", script], cwd=ROOT, stdout=out, stderr=out,
                check=False,
            )  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-30:])
            pytest.fail(f"{script} failed (exit {done.returncode}); end of {log}:\n{tail}")


def require_tools(*names: str) -> None:
    """Skip (or fail under K8S_REQUIRE_CLUSTER=1) when a tool in build/tools/bin is missing."""
    missing = [n for n in names if not os.access(TOOLS_BIN / n, os.X_OK)]
    if missing:
        unavailable(f"{', '.join(missing)} not in {TOOLS_BIN}: run `make k8s-lint-tools`")


def cluster_settings() -> Settings:
    return Settings(workdir=CLUSTER_DIR / "cluster")


@pytest.fixture(scope="session")
def k8s_cluster(predictor_image: str) -> Iterator[Cluster]:
    """The real local cluster for the session; stopped afterwards, leaving nothing behind."""
    settings = cluster_settings()
    found = preflight.problems(settings)
    if found:
        unavailable("; ".join(found))
    before = footprint.take(settings)
    cluster = harness.up(settings, images=(predictor_image,))
    try:
        yield cluster
    finally:
        harness.down(settings)
        shutil.rmtree(CLUSTER_DIR, ignore_errors=True)
        left = before.diff(footprint.take(settings))
        assert not left, "the cluster left this behind:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def cluster_models(k8s_cluster: Cluster) -> Path:
    """``<dir>/lfw-faces``: what the predictor pods read as /models/lfw-faces (world-readable:
    they run as 65532)."""
    models = CLUSTER_DIR / "models"
    (models / MODEL).mkdir(parents=True, exist_ok=True)
    for path in (CLUSTER_DIR, models, models / MODEL):
        path.chmod(0o755)
    return models


def render_overlay(models: Path, overlay: Path = TEST_OVERLAY) -> str:
    """The overlay rendered, its model PersistentVolume pointed at ``models``."""
    rendered = check_manifests.render(overlay)
    return rendered.replace("path: /var/lib/imgclf/models", f"path: {models}")


@pytest.fixture(scope="session")
def predictor_deployment(k8s_cluster: Cluster, cluster_models: Path, published_v1) -> Cluster:
    """The test overlay server-side applied and its 2 predictor pods Ready on version 1."""
    del published_v1
    k8s_cluster.apply(render_overlay(cluster_models))
    wait_available(k8s_cluster, "predictor", replicas=2)
    return k8s_cluster


@pytest.fixture(scope="session")
def admin(predictor_deployment):
    return config.new_client_from_config(config_file=str(predictor_deployment.kubeconfig))


@pytest.fixture(scope="session")
def deployer_kubeconfig(predictor_deployment, tmp_path_factory):
    """A kubeconfig for the pipeline's service account, as KFP installs it, with a token
    the API server issues for it (TokenRequest): only the shipped Role applies."""
    cluster, (namespace, account) = predictor_deployment, DEPLOYER
    cluster.kubectl("create", "namespace", namespace, check=False)  # may exist already
    cluster.kubectl("-n", namespace, "create", "serviceaccount", account, check=False)
    token = cluster.kubectl("-n", namespace, "create", "token", account, "--duration=2h")
    kubeconfig = yaml.safe_load(
        cluster.kubectl("config", "view", "--raw", "--minify", "-o", "yaml").stdout
    )
    kubeconfig["users"] = [{"name": account, "user": {"token": token.stdout.strip()}}]
    kubeconfig["contexts"][0]["context"]["user"] = account
    path = tmp_path_factory.mktemp("deployer") / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    return path


@pytest.fixture(scope="session")
def deployer(deployer_kubeconfig):
    """A client authenticated as the pipeline's service account."""
    return config.new_client_from_config(config_file=str(deployer_kubeconfig))


def pinned(admin) -> int | None:
    """The model version the predictor Deployment's pod template pins."""
    from kubernetes import client

    from components.deploy.versions import pinned_version

    deployment = client.AppsV1Api(admin).read_namespaced_deployment("predictor", NAMESPACE)
    return pinned_version(deployment, "predictor")


def deploy(cluster: Cluster, api, models: Path, version: int, strategy: str = "rolling",
           timeout_s: float = 240, **settings):  # fmt: skip
    """The deploy step's function on the predictor, smoke-testing through the ClusterIPs."""
    from components.deploy.deploy import deploy_version

    return deploy_version(
        model_base_uri=str(models), model_name=MODEL, version=version, namespace=NAMESPACE,
        deployment="predictor", strategy=strategy, smoke_url=service_url(cluster),
        canary_smoke_url=service_url(cluster, "predictor-canary"), timeout_s=timeout_s,
        api_client=api, **settings,
    )  # fmt: skip


def get_json(cluster: Cluster, *what: str, namespace: str = NAMESPACE) -> dict:
    return json.loads(cluster.kubectl("-n", namespace, "get", *what, "-o", "json").stdout)


def wait_available(
    cluster: Cluster, deployment: str, replicas: int, timeout_s: float = 240
) -> None:
    """Until the Deployment's rollout is complete with ``replicas`` available."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = get_json(cluster, "deployment", deployment).get("status", {})
        if (
            status.get("availableReplicas") == replicas
            and status.get("updatedReplicas") == replicas
            and status.get("replicas") == replicas
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"deployment {deployment}: {status} after {timeout_s:.0f}s")
        time.sleep(1)


def wait_pod_metrics(cluster: Cluster, pods: int, timeout_s: float = 120) -> str:
    """Until metrics-server reports CPU and memory for ``pods`` pods (its first scrape of a
    new pod comes one or two resolutions, 15 s each, after the pod starts)."""
    deadline = time.monotonic() + timeout_s
    while True:
        top = cluster.kubectl("-n", NAMESPACE, "top", "pods", "--no-headers", check=False)
        if top.returncode == 0 and len(top.stdout.splitlines()) >= pods:
            return top.stdout
        if time.monotonic() > deadline:
            raise TimeoutError(f"no pod metrics after {timeout_s:.0f}s: {top.stderr.strip()}")
        time.sleep(3)


def gateway_url(cluster: Cluster) -> str:
    """The Gateway's address once the predictor's HTTPRoute is accepted and answers."""
    s = cluster.settings
    url = f"http://{s.node_ip}:{s.ports.gateway_http}"
    deadline = time.monotonic() + 60
    while True:
        route = get_json(cluster, "httproute", "predictor")
        parents = route.get("status", {}).get("parents", [])
        accepted = any(c["type"] == "Accepted" and c["status"] == "True"
                       for p in parents for c in p.get("conditions", []))  # fmt: skip
        # Settled: no pod of an earlier rollout still terminating (the gateway, unlike
        # kube-proxy, may still send to those while they drain).
        pods = get_json(cluster, "pods", "-l", "app.kubernetes.io/name=predictor")
        settled = not any(p["metadata"].get("deletionTimestamp") for p in pods["items"])
        if accepted and settled and http_status(url + "/v2/health/ready") == 200:
            return url
        if time.monotonic() > deadline:
            pytest.fail(f"HTTPRoute not serving through the gateway: {parents}")
        time.sleep(1)


def http_status(url: str) -> int:
    """The status a GET of ``url`` answers (0: no answer)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def service_url(cluster: Cluster, service: str = "predictor") -> str:
    """``http://<ClusterIP>:<port>``: reached from the host through kube-proxy's rules."""
    spec = get_json(cluster, "service", service)["spec"]
    return f"http://{spec['clusterIP']}:{spec['ports'][0]['port']}"


def service_target(cluster: Cluster, port_name: str, service: str = "predictor") -> str:
    """``<ClusterIP>:<port>`` of the Service's port named ``port_name`` (e.g. ``grpc``)."""
    spec = get_json(cluster, "service", service)["spec"]
    (port,) = [p["port"] for p in spec["ports"] if p.get("name") == port_name]
    return f"{spec['clusterIP']}:{port}"


def ready_pod_ips(
    cluster: Cluster, selector: str = "app.kubernetes.io/name=predictor"
) -> list[str]:
    pods = get_json(cluster, "pods", "-l", selector)["items"]
    return [
        p["status"]["podIP"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
    ]


@pytest.fixture(scope="session")
def published_v1(cluster_models: Path, trained_dir: Path, split_dir: Path):
    """Version 1 of lfw-faces in the node's model directory: the session's trained model."""
    from components.export.publish import export_and_publish

    return export_and_publish(trained_dir, split_dir, str(cluster_models), MODEL, {"note": "v1"})


def holdout_images(split_dir: Path) -> list[bytes]:
    """The prepared split's test images (6: 3 per class), encoded as stored."""
    from components.prepare.dataset import read_split

    paths, _, _ = read_split(split_dir, "test")
    images = [Path(p).read_bytes() for p in paths]
    assert images, f"no test images in {split_dir}"
    return images


def keras_answers(trained: Path, images: list[bytes]) -> tuple[list[list[float]], list[str]]:
    """What the trained Keras model itself predicts for ``images``: probabilities, labels."""
    import numpy as np

    from components.imaging import decode_batch
    from components.train.train import load_trained

    model, classes, params = load_trained(trained)
    probabilities = model.predict(decode_batch(np.array(images, dtype=object), params.image_size))
    return probabilities.tolist(), [classes[i] for i in probabilities.argmax(axis=1)]


def predict(base_url: str, images: list[bytes], version: int | None = None) -> list[dict]:
    """TF Serving REST predict of ``images`` at ``base_url`` (one request)."""
    import base64
    import urllib.request

    path = f"/v1/models/{MODEL}" + (f"/versions/{version}" if version else "") + ":predict"
    instances = [{"b64": base64.b64encode(i).decode()} for i in images]
    request = urllib.request.Request(
        base_url + path, data=json.dumps({"instances": instances}).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["predictions"]
