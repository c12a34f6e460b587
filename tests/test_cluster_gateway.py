"""Scenario 5 on the real node: the base's HTTPRoute through a real Gateway API
implementation (Traefik), TF Serving REST and KServe v2 requests through it, and the same
body-size limit at the gateway and at the predictor."""

import base64
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from cluster_report import record
from k8s_cluster import MODEL, get_json, holdout_images, predict, service_url

from cluster.settings import Settings

LIMIT = 8388608  # PREDICTOR_MAX_BODY_BYTES (k8s/base) = the Middleware's maxRequestBodyBytes


@pytest.fixture(scope="module")
def gateway(predictor_deployment) -> str:
    """The Gateway's address once the route is accepted and answers."""
    s: Settings = predictor_deployment.settings
    url = f"http://{s.node_ip}:{s.ports.gateway_http}"
    deadline = time.monotonic() + 60
    while True:
        route = get_json(predictor_deployment, "httproute", "predictor")
        parents = route.get("status", {}).get("parents", [])
        accepted = any(c["type"] == "Accepted" and c["status"] == "True"
                       for p in parents for c in p.get("conditions", []))  # fmt: skip
        # Settled: no pod of an earlier rollout still terminating (the gateway, unlike
        # kube-proxy, may still send to those while they drain).
        pods = get_json(predictor_deployment, "pods", "-l", "app.kubernetes.io/name=predictor")
        settled = not any(p["metadata"].get("deletionTimestamp") for p in pods["items"])
        if accepted and settled and _status(url + "/v2/health/ready") == 200:
            return url
        if time.monotonic() > deadline:
            pytest.fail(f"HTTPRoute not serving through the gateway: {parents}")
        time.sleep(1)


def test_tf_serving_rest_through_the_gateway(gateway, predictor_deployment, split_dir):
    images = holdout_images(split_dir)[:3]
    direct = predict(service_url(predictor_deployment), images)
    through = predict(gateway, images)
    np.testing.assert_allclose([p["probabilities"] for p in through],
                               [p["probabilities"] for p in direct], atol=1e-6)  # fmt: skip
    assert [p["label"] for p in through] == [p["label"] for p in direct]


def test_v2_through_the_gateway_and_metrics_not_routed(gateway, split_dir):
    image = holdout_images(split_dir)[0]
    tensor = {"name": "image_bytes", "datatype": "BYTES", "shape": [1],
              "data": [base64.b64encode(image).decode()]}  # fmt: skip
    status, body = _post(
        f"{gateway}/v2/models/{MODEL}/infer", json.dumps({"inputs": [tensor]}).encode()
    )
    assert status == 200, body
    names = {o["name"] for o in json.loads(body)["outputs"]}
    assert {"probabilities", "label"} <= names
    assert _status(f"{gateway}/v2/models/{MODEL}") == 200
    assert _status(f"{gateway}/metrics") == 404  # the APIs and the page are routed, not this


def test_web_page_through_the_gateway(gateway):
    """The predictor's page and its assets come through the route, with their CSP."""
    for path in ("/", f"/ui/models/{MODEL}", "/ui/assets/app.js"):
        with urllib.request.urlopen(gateway + path, timeout=10) as resp:
            assert resp.status == 200, path
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"], path
    assert _status(f"{gateway}/ui/models/no-such-model") == 404


def test_body_limit_is_the_same_at_gateway_and_predictor(gateway, predictor_deployment, split_dir):
    image = holdout_images(split_dir)[0]
    rows = []
    for size in (LIMIT - 1, LIMIT + 1):
        body = _padded_predict(image, size)
        assert len(body) == size
        at_gateway = _post_large(f"{gateway}/v1/models/{MODEL}:predict", body)
        at_service = _post_large(
            f"{service_url(predictor_deployment)}/v1/models/{MODEL}:predict", body
        )
        rows.append({"bytes": size, "gateway": at_gateway, "service": at_service})
    record("gateway", {"limit_bytes": LIMIT, "limits": rows})
    assert [(r["gateway"], r["service"]) for r in rows] == [(200, 200), (413, 413)]


def _padded_predict(image: bytes, size: int) -> bytes:
    """A valid predict request of exactly ``size`` bytes (whitespace between JSON tokens)."""
    head = b'{"instances": [{"b64": "' + base64.b64encode(image) + b'"}]'
    return head + b" " * (size - len(head) - 1) + b"}"


def _post_large(url: str, body: bytes) -> int:
    """POST as curl does a large body: ``Expect: 100-continue``, and the body only once the
    server asks for it. A server that refuses by the headers alone (413 for the length)
    answers at once; sending 8 MiB into it would end in a connection reset instead."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=60) as sock:
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        reader = sock.makefile("rb")
        status = _status_line(reader)
        if status == 100:
            while reader.readline() not in (b"\r\n", b""):
                pass  # the rest of the interim response
            sock.sendall(body)
            status = _status_line(reader)
        return status


def _status_line(reader) -> int:
    line = reader.readline()  # b"HTTP/1.1 413 Request Entity Too Large\r\n"
    return int(line.split()[1])


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0
