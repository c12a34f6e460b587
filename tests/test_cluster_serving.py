"""Scenario 1 and 6 on the real node: the local overlay applied with kubectl, predictor pods
from the image behind their real probes (readiness: Kubernetes' gRPC probe), predictions
through the Service's ClusterIP, the gRPC health check from outside, and the
PodDisruptionBudget holding against the eviction API."""

import json
import shutil
import time

import grpc
import numpy as np
import pytest
from k8s_cluster import (
    NAMESPACE,
    get_json,
    holdout_images,
    keras_answers,
    predict,
    ready_pod_ips,
    service_target,
    service_url,
    wait_available,
)
from standard_clients import grpc_health

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


def test_pods_are_ready_through_the_grpc_health_probe(predictor_deployment):
    """The kubelet made the pods Ready with its gRPC probe (grpc.health.v1 Check of the
    server as a whole on 8500), and the same check from here, as grpc-health-probe makes it,
    answers SERVING from each pod and through the Service's gRPC port (kube-proxy)."""
    pods = get_json(predictor_deployment, "pods", "-l", "app.kubernetes.io/name=predictor")
    for pod in pods["items"]:
        (container,) = pod["spec"]["containers"]
        probe = container["readinessProbe"]
        assert "httpGet" not in probe and probe["grpc"]["port"] == 8500, probe
        assert probe["grpc"].get("service", "") == "", probe  # "": the server as a whole
        assert (probe["periodSeconds"], probe["failureThreshold"]) == (5, 2), probe
        assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    ips = ready_pod_ips(predictor_deployment)
    assert len(ips) == 2
    for ip in ips:
        assert grpc_health(f"{ip}:8500") == "SERVING", ip
    assert grpc_health(service_target(predictor_deployment, "grpc")) == "SERVING"


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


def test_grpc_probe_takes_a_draining_pod_out_of_ready(predictor_deployment):
    """A pod scaled away keeps running through preStop (5 s), then gets SIGTERM and drains.
    With a --shutdown-delay that keeps its listeners open meanwhile, its health answers
    NOT_SERVING and the kubelet's gRPC probe marks the still running pod not Ready, its
    probe-failure events naming that status: readiness follows the gRPC health, not the
    container's exit."""
    name = "predictor-drain"
    selector = f"imgclf.dev/test={name}"
    try:
        # preStop 5 s + 20 s delay fits the 30 s grace period; nothing is in flight after.
        _clone(predictor_deployment, name, {"PREDICTOR_SHUTDOWN_DELAY": "20s"})
        _wait(lambda: ready_pod_ips(predictor_deployment, selector), 120)
        (ip,) = ready_pod_ips(predictor_deployment, selector)
        (pod,) = get_json(predictor_deployment, "pods", "-l", selector)["items"]
        pod_name = pod["metadata"]["name"]
        assert grpc_health(f"{ip}:8500") == "SERVING"
        deleted = time.monotonic()
        # Scaled to 0 rather than the pod deleted: no replacement pod starts meanwhile.
        predictor_deployment.kubectl("-n", NAMESPACE, "scale", "deployment", name, "--replicas=0")
        _wait(lambda: _health_or_error(f"{ip}:8500") == "NOT_SERVING", 15)
        _wait(lambda: _ready_condition(predictor_deployment, pod_name) == "False", 20)
        unready_after_s = time.monotonic() - deleted
        current = get_json(predictor_deployment, "pod", pod_name)
        (status,) = current["status"]["containerStatuses"]
        assert "running" in status["state"] and not status["ready"], status
        assert _health_or_error(f"{ip}:8500") == "NOT_SERVING"  # still draining, still up
        _wait(lambda: _probe_failures_say(predictor_deployment, pod_name, "NOT_SERVING"), 10)
        assert unready_after_s < 25, unready_after_s  # within preStop + delay
    finally:
        predictor_deployment.kubectl("-n", NAMESPACE, "delete", "deployment", name, check=False)


def _health_or_error(target: str) -> str:
    """The health status, or the call's error code (UNAVAILABLE once the listener closed)."""
    try:
        return grpc_health(target, timeout_s=2)
    except grpc.RpcError as err:
        return err.code().name


def _ready_condition(cluster, pod: str) -> str:
    conditions = get_json(cluster, "pod", pod)["status"].get("conditions", [])
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "")


def _probe_failures_say(cluster, pod: str, text: str) -> bool:
    """Whether a kubelet probe-failure event of ``pod`` has ``text`` in its message (the gRPC
    probe's: 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")')."""
    selector = f"involvedObject.name={pod},reason=Unhealthy"
    events = get_json(cluster, "events", "--field-selector", selector)["items"]
    return any(text in e.get("message", "") for e in events)


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
