"""Scenario 1 and 6 on the real node: the local overlay applied with kubectl, predictor pods
from the image behind their real probes, predictions through the Service's ClusterIP, and
the PodDisruptionBudget holding against the eviction API."""

import json
import shutil
import time

import numpy as np
import pytest
from k8s_cluster import (
    NAMESPACE,
    get_json,
    holdout_images,
    keras_answers,
    predict,
    ready_pod_ips,
    service_url,
    wait_available,
)

from components.export.publish import export_and_publish


def test_predictions_through_the_service_match_keras(predictor_deployment, trained_dir, split_dir):
    images = holdout_images(split_dir)
    expected, labels = keras_answers(trained_dir, images)
    served = predict(service_url(predictor_deployment), images)
    np.testing.assert_allclose([p["probabilities"] for p in served], expected, atol=1e-5, rtol=0)
    assert [p["label"] for p in served] == labels
    # Both replicas answer the same (each pod asked directly, on the pod network).
    pods = ready_pod_ips(predictor_deployment)
    assert len(pods) == 2
    for ip in pods:
        answer = predict(f"http://{ip}:8501", images[:2])
        np.testing.assert_allclose([p["probabilities"] for p in answer], expected[:2], atol=1e-5)


def test_pods_run_as_the_image_and_manifests_say(predictor_deployment):
    pod = get_json(predictor_deployment, "pods", "-l", "app.kubernetes.io/name=predictor")["items"][
        0
    ]
    (status,) = pod["status"]["containerStatuses"]
    assert status["ready"] and status["image"].endswith("imgclf/predictor:0.1.0")
    # Read-only root, non-root user, model volume read-only: asked of the running container.
    spec = pod["spec"]
    assert spec["securityContext"]["runAsUser"] == 65532
    assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_ready_only_after_a_model_version_loads(predictor_deployment, cluster_models, trained_dir,
                                                split_dir):  # fmt: skip
    """A pod whose model directory is empty runs but is not Ready and not an endpoint; once a
    version is published there, it becomes Ready and serves it."""
    late = cluster_models / "late"
    late.mkdir(mode=0o755)
    name = "predictor-late"
    try:
        env = {"PREDICTOR_MODEL_BASE_PATH": "/models/late", "PREDICTOR_POLL_INTERVAL": "2s",
               "PREDICTOR_MODEL_VERSION_POLICY": "latest"}  # fmt: skip
        _clone(predictor_deployment, name, env)
        selector = f"imgclf.dev/test={name}"
        _wait(lambda: _pod_phase(predictor_deployment, selector) == "Running", 120)
        time.sleep(15)  # three readiness periods with nothing to load
        assert ready_pod_ips(predictor_deployment, selector) == []
        export_and_publish(trained_dir, split_dir, str(cluster_models), "late", {"note": "late"})
        _wait(lambda: ready_pod_ips(predictor_deployment, selector), 60)
        (ip,) = ready_pod_ips(predictor_deployment, selector)
        expected, _ = keras_answers(trained_dir, holdout_images(split_dir)[:1])
        (answer,) = predict(f"http://{ip}:8501", holdout_images(split_dir)[:1])
        np.testing.assert_allclose(answer["probabilities"], expected[0], atol=1e-5)
    finally:
        predictor_deployment.kubectl("-n", NAMESPACE, "delete", "deployment", name, check=False)
        shutil.rmtree(late, ignore_errors=True)


def test_disruption_budget_allows_one_eviction_at_a_time(predictor_deployment):
    wait_available(predictor_deployment, "predictor", replicas=2)
    listed = get_json(predictor_deployment, "pods", "-l", "app.kubernetes.io/name=predictor")
    pods = [p["metadata"]["name"] for p in listed["items"]]
    first = _evict(predictor_deployment, pods[0])
    assert first.returncode == 0, first.stderr
    second = _evict(predictor_deployment, pods[1])
    assert second.returncode != 0
    assert "disruption budget" in second.stderr.lower()
    wait_available(predictor_deployment, "predictor", replicas=2)  # the first is back


def _evict(cluster, pod: str):
    """POST the Eviction subresource, as `kubectl drain` does."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": pod, "namespace": NAMESPACE}}  # fmt: skip
    return cluster.kubectl(
        "create", "--raw", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction", "-f", "-",
        input=json.dumps(body), check=False,
    )  # fmt: skip


def _clone(cluster, name: str, env: dict[str, str]) -> None:
    """A one-replica copy of the predictor Deployment with its own labels (outside the
    Service) and extra environment."""
    body = get_json(cluster, "deployment", "predictor")
    labels = {"imgclf.dev/test": name}
    body["metadata"] = {"name": name, "namespace": NAMESPACE, "labels": labels}
    spec = body["spec"]
    spec["replicas"], spec["selector"] = 1, {"matchLabels": labels}
    spec["template"]["metadata"]["labels"] = labels
    spec["template"]["spec"].pop("topologySpreadConstraints", None)
    container = spec["template"]["spec"]["containers"][0]
    kept = [e for e in container.get("env", []) if e["name"] not in env]
    container["env"] = kept + [{"name": k, "value": v} for k, v in env.items()]
    body.pop("status", None)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))


def _pod_phase(cluster, selector: str) -> str:
    items = get_json(cluster, "pods", "-l", selector)["items"]
    return items[0]["status"].get("phase", "") if items else ""


def _wait(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not true after {timeout_s:.0f}s: {condition}")
        time.sleep(1)
