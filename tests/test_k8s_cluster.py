"""The manifests against a real kube-apiserver, controller-manager and scheduler (KWOK fake
node): server-side apply, a real Deployment rollout, Pod Security admission, RBAC."""

import json

import pytest
from k8s_cluster import NAMESPACE, ROOT, check_manifests, require_tools, wait_rollout

PIPELINE_RUNNER = "system:serviceaccount:kubeflow:pipeline-runner"


def _get(cluster, *what):
    return json.loads(cluster.kubectl("-n", NAMESPACE, "get", *what, "-o", "json").stdout)


def _deployment_manifest(cluster) -> dict:
    """The predictor Deployment as k8s/overlays/local renders it."""
    import yaml

    rendered = check_manifests.render(ROOT / "k8s" / "overlays" / "local")
    return next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment")


def test_local_overlay_rolls_out_with_ready_pod(predictor_deployment):
    # The cluster is shared by the session (the deploy step's tests patch it too): wait for
    # whatever rollout is current, then look at the pods that are not terminating.
    wait_rollout(predictor_deployment, "predictor")
    deployment = _get(predictor_deployment, "deployment", "predictor")
    status = deployment["status"]
    assert (status.get("readyReplicas"), status.get("updatedReplicas")) == (1, 1)
    pods = _get(predictor_deployment, "pods", "-l", "app.kubernetes.io/name=predictor")["items"]
    (pod,) = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["nodeName"], "scheduled onto the KWOK node"
    # The claim bound to the static hostPath volume, in the predictor's namespace.
    claim = _get(predictor_deployment, "pvc", "predictor-models")
    assert claim["status"]["phase"] == "Bound"


def test_namespace_enforces_restricted_pod_security(predictor_deployment):
    # The predictor pod above was admitted under enforce=restricted; a root pod is not.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root-pod", "namespace": NAMESPACE},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    result = predictor_deployment.apply(json.dumps(pod), "--dry-run=server")
    assert result.returncode != 0
    assert 'violates PodSecurity "restricted' in result.stderr


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("get", "deployment/predictor", "yes"),
        ("patch", "deployment/predictor", "yes"),
        ("patch", "deployment/other", "no"),
        ("delete", "deployment/predictor", "no"),
        ("create", "deployments", "no"),
        ("list", "replicasets", "yes"),
        ("watch", "pods", "yes"),
        ("get", "secrets", "no"),
        ("create", "pods", "no"),
    ],
)
def test_deploy_step_role_allows_only_its_rollout(predictor_deployment, verb, resource, allowed):
    result = predictor_deployment.kubectl(
        "auth", "can-i", verb, resource, "-n", NAMESPACE, f"--as={PIPELINE_RUNNER}", check=False
    )
    assert result.stdout.strip() == allowed, (verb, resource, result.stderr)


def test_deploy_step_patch_rolls_out_a_new_revision(predictor_deployment):
    # What the pipeline's deploy step does: patch the pod template as pipeline-runner, then
    # follow the rollout (maxSurge 1, maxUnavailable 0) to the new ReplicaSet.
    patch = {"spec": {"template": {"metadata": {"annotations": {"imgclf/model-version": "2"}}}}}
    predictor_deployment.kubectl(
        "-n", NAMESPACE, "patch", "deployment", "predictor", f"--as={PIPELINE_RUNNER}",
        "-p", json.dumps(patch),
    )  # fmt: skip
    wait_rollout(predictor_deployment, "predictor")
    deployment = _get(predictor_deployment, "deployment", "predictor")
    assert deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
    replica_sets = _get(predictor_deployment, "rs", "-l", "app.kubernetes.io/name=predictor")
    sizes = sorted(rs["status"].get("readyReplicas", 0) for rs in replica_sets["items"])
    assert sizes[-1] == 1 and sum(sizes) == 1, "one ready pod, on the new ReplicaSet only"


def test_api_server_rejects_selector_that_misses_the_pods(k8s_cluster):
    deployment = _deployment_manifest(k8s_cluster)
    deployment["metadata"]["name"] = "broken-selector"
    deployment["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "other"}
    result = k8s_cluster.apply(json.dumps(deployment), "--dry-run=server")
    assert result.returncode != 0
    assert "selector` does not match template `labels`" in result.stderr


def test_api_server_rejects_unknown_fields(k8s_cluster):
    deployment = _deployment_manifest(k8s_cluster)
    deployment["metadata"]["name"] = "unknown-field"
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGet"]["prot"] = "http"
    result = k8s_cluster.apply(json.dumps(deployment), "--dry-run=server")
    assert result.returncode != 0
    assert "readinessProbe.httpGet.prot: field not declared in schema" in result.stderr


def test_gke_overlay_passes_server_side_validation_and_admission(predictor_deployment):
    require_tools("kustomize")
    rendered = check_manifests.render(ROOT / "k8s" / "overlays" / "gke")
    result = predictor_deployment.apply(rendered, "--dry-run=server", "--force-conflicts")
    assert result.returncode == 0, result.stderr
    assert "horizontalpodautoscaler.autoscaling/predictor serverside-applied" in result.stdout
