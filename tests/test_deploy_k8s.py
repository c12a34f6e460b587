"""The deploy step against a real Kubernetes API server (kube-apiserver, controller-manager,
scheduler and a KWOK node, from tests/k8s_cluster.py).

KWOK fakes the pods, so no predictor container runs in the cluster: the smoke test's
"Service" is the real Go predictor started on loopback with the same model directory.
"""

import json
import shutil
import uuid

import pytest
from k8s_cluster import NAMESPACE
from kubernetes import client, config

from components.deploy.deploy import VERSION_ENV, DeployError, deploy_version, pinned_version
from components.errors import StepError
from components.export.publish import export_and_publish
from pipelines.predictor_process import LocalPredictor

MODEL = "lfw-faces"
DEPLOYER = "system:serviceaccount:kubeflow:pipeline-runner"  # the RoleBinding's subject


@pytest.fixture(scope="module")
def admin(predictor_deployment):
    return config.new_client_from_config(config_file=str(predictor_deployment.kubeconfig))


@pytest.fixture(scope="module")
def deployer(predictor_deployment):
    """A client acting as the pipeline's service account: only the shipped Role applies."""
    api = config.new_client_from_config(config_file=str(predictor_deployment.kubeconfig))
    api.set_default_header("Impersonate-User", DEPLOYER)
    api.set_default_header("Impersonate-Group", "system:serviceaccounts")
    return api


@pytest.fixture(scope="module")
def store(trained_dir, split_dir, tmp_path_factory):
    """A model base with version 1 of the trained LFW model."""
    base = tmp_path_factory.mktemp("models")
    export_and_publish(trained_dir, split_dir, str(base), MODEL, {"note": "deploy test"})
    return base


def _clone(admin, name: str) -> str:
    """A copy of the predictor Deployment under another name (its own selector), unpinned."""
    apps = client.AppsV1Api(admin)
    source = apps.read_namespaced_deployment("predictor", NAMESPACE)
    body = client.ApiClient().sanitize_for_serialization(source)
    labels = {"app.kubernetes.io/name": name}
    body["metadata"] = {"name": name, "namespace": NAMESPACE, "labels": labels}
    body["spec"]["selector"] = {"matchLabels": labels}
    body["spec"]["template"]["metadata"]["labels"] = labels
    body["spec"]["template"]["spec"].pop("topologySpreadConstraints", None)
    for container in body["spec"]["template"]["spec"]["containers"]:  # start unpinned
        container["env"] = [e for e in container.get("env") or [] if e["name"] != VERSION_ENV]
    body.pop("status", None)
    apps.create_namespaced_deployment(NAMESPACE, body)
    return name


def _wait_ready(admin, name: str) -> None:
    from components.deploy.deploy import wait_for_rollout

    wait_for_rollout(client.AppsV1Api(admin), name, NAMESPACE, 120)


def _read(admin, name: str):
    return client.AppsV1Api(admin).read_namespaced_deployment(name, NAMESPACE)


def test_rollout_with_least_privilege_then_idempotent(admin, deployer, store):
    with LocalPredictor(store / MODEL, MODEL) as predictor:
        args = dict(model_base_uri=str(store), model_name=MODEL, namespace=NAMESPACE,
                    deployment="predictor", smoke_url=predictor.url, timeout_s=120)  # fmt: skip
        first = deploy_version(version=1, api_client=deployer, **args)
        assert first.changed
        deployment = _read(admin, "predictor")
        assert pinned_version(deployment, "predictor") == 1
        assert deployment.spec.template.metadata.annotations["imgclf.dev/model-version"] == "1"
        assert deployment.status.updated_replicas == deployment.status.available_replicas == 1
        generation = deployment.metadata.generation

        again = deploy_version(version=1, api_client=deployer, **args)
        assert not again.changed
        assert _read(admin, "predictor").metadata.generation == generation


def test_rbac_forbidden_names_the_verb_and_resource(admin, deployer, store):
    name = _clone(admin, f"other-{uuid.uuid4().hex[:6]}")  # the Role covers "predictor" only
    with pytest.raises(StepError, match=f"forbidden: cannot get deployments.apps/{name}"):
        deploy_version(model_base_uri=str(store), model_name=MODEL, version=1,
                       namespace=NAMESPACE, deployment=name, api_client=deployer)  # fmt: skip


@pytest.mark.parametrize(("namespace", "name"), [(NAMESPACE, "nope"), ("ghost", "predictor")])
def test_missing_deployment_or_namespace(admin, store, namespace, name):
    with pytest.raises(StepError, match=f"deployment {name} not found in namespace {namespace}"):
        deploy_version(model_base_uri=str(store), model_name=MODEL, version=1,
                       namespace=namespace, deployment=name, api_client=admin)  # fmt: skip


def test_rollout_that_never_becomes_ready_is_rolled_back(admin, store):
    name = _clone(admin, f"stuck-{uuid.uuid4().hex[:6]}")
    _wait_ready(admin, name)
    core = client.CoreV1Api(admin)
    (node,) = core.list_node().items
    taint = {"key": "test/full", "value": "yes", "effect": "NoSchedule"}
    core.patch_node(node.metadata.name, {"spec": {"taints": [taint]}})  # no room for new pods
    try:
        with pytest.raises(DeployError, match="rollout not done after 5s.*rolled back"):
            deploy_version(model_base_uri=str(store), model_name=MODEL, version=1,
                           namespace=NAMESPACE, deployment=name, timeout_s=5,
                           api_client=admin)  # fmt: skip
    finally:
        core.patch_node(node.metadata.name, {"spec": {"taints": None}})
    deployment = _read(admin, name)
    assert pinned_version(deployment, "predictor") is None  # the template before the deploy
    assert deployment.status.available_replicas == 1


def test_wrong_smoke_prediction_is_rolled_back(admin, store, tmp_path):
    # The same model, but its metadata expects the other label: the smoke test must fail.
    lying = tmp_path / "models"
    shutil.copytree(store, lying)
    metadata_path = lying / MODEL / "1" / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    smoke = metadata["smoke_test"]
    smoke["label"] = next(c for c in metadata["classes"] if c != smoke["label"])
    metadata_path.write_text(json.dumps(metadata))

    name = _clone(admin, f"smoke-{uuid.uuid4().hex[:6]}")
    _wait_ready(admin, name)
    with LocalPredictor(store / MODEL, MODEL) as predictor:
        with pytest.raises(DeployError, match=f"expected '{smoke['label']}'.*rolled back"):
            deploy_version(model_base_uri=str(lying), model_name=MODEL, version=1,
                           namespace=NAMESPACE, deployment=name, smoke_url=predictor.url,
                           timeout_s=60, api_client=admin)  # fmt: skip
    assert pinned_version(_read(admin, name), "predictor") is None
