"""The manifests against the real local cluster (tests/k8s_cluster.py): server-side apply,
the rolled-out pods, Pod Security admission, RBAC, the API server's validation."""

import json

from k8s_cluster import NAMESPACE, ROOT, check_manifests


def _get(cluster, *what):
    return json.loads(cluster.kubectl("-n", NAMESPACE, "get", *what, "-o", "json").stdout)


def _deployment_manifest(cluster) -> dict:
    """The predictor Deployment as k8s/overlays/local renders it."""
    import yaml

    rendered = check_manifests.render(ROOT / "k8s" / "overlays" / "local")
    return next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment")


def test_local_overlay_runs_two_ready_pods_on_the_node(predictor_deployment):
    status = _get(predictor_deployment, "deployment", "predictor")["status"]
    assert (status.get("readyReplicas"), status.get("updatedReplicas")) == (2, 2)
    pods = _get(predictor_deployment, "pods", "-l", "app.kubernetes.io/name=predictor")["items"]
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"] == predictor_deployment.settings.node_name
        assert pod["status"]["podIP"].startswith("10.244.0.")  # on the node's bridge
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
    result = predictor_deployment.apply(json.dumps(pod), "--dry-run=server", check=False)
    assert result.returncode != 0
    assert 'violates PodSecurity "restricted' in result.stderr


def test_api_server_rejects_selector_that_misses_the_pods(k8s_cluster):
    deployment = _deployment_manifest(k8s_cluster)
    deployment["metadata"]["name"] = "broken-selector"
    deployment["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "other"}
    result = k8s_cluster.apply(json.dumps(deployment), "--dry-run=server", check=False)
    assert result.returncode != 0
    assert "selector` does not match template `labels`" in result.stderr


def test_api_server_rejects_unknown_fields(k8s_cluster):
    deployment = _deployment_manifest(k8s_cluster)
    deployment["metadata"]["name"] = "unknown-field"
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["grpc"]["prot"] = 8500
    result = k8s_cluster.apply(json.dumps(deployment), "--dry-run=server", check=False)
    assert result.returncode != 0
    assert "readinessProbe.grpc.prot: field not declared in schema" in result.stderr


def test_gke_overlay_passes_server_side_validation_and_admission(predictor_deployment):
    rendered = check_manifests.render(ROOT / "k8s" / "overlays" / "gke")
    result = predictor_deployment.apply(
        rendered, "--dry-run=server", "--force-conflicts", check=False
    )
    assert result.returncode == 0, result.stderr
    assert "horizontalpodautoscaler.autoscaling/predictor serverside-applied" in result.stdout
    assert "httproute.gateway.networking.k8s.io/predictor serverside-applied" in result.stdout
