"""Scenario 5 on the real node: the base's HTTPRoute and GRPCRoute through a real Gateway API
implementation (Traefik), TF Serving REST and KServe v2 requests through the first, TF
Serving and KServe v2 gRPC calls through the second, and the same body-size limit at the
gateway and at the predictor."""

import base64
import json
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest
from cluster_report import record
from k8s_cluster import (
    MODEL,
    gateway_url,
    get_json,
    holdout_images,
    http_status,
    predict,
    service_url,
)
from standard_clients import CLIENT_PYTHON, grpc_health, run_grpc_client

LIMIT = 8388608  # PREDICTOR_MAX_BODY_BYTES (k8s/base) = the Middleware's maxRequestBodyBytes


@pytest.fixture(scope="module")
def gateway(predictor_deployment) -> str:
    return gateway_url(predictor_deployment)


@pytest.fixture(scope="module")
def grpc_gateway(gateway, predictor_deployment) -> str:
    """``host:port`` of the Gateway's listener (h2c as well as HTTP/1.1) once Traefik has
    accepted the GRPCRoute and resolved its backend (the Service's h2c port)."""
    deadline = time.monotonic() + 60
    while True:
        route = get_json(predictor_deployment, "grpcroute", "predictor")
        parents = route.get("status", {}).get("parents", [])
        conditions = {c["type"]: c["status"] for p in parents for c in p.get("conditions", [])}
        if conditions.get("Accepted") == "True" and conditions.get("ResolvedRefs") == "True":
            return gateway.removeprefix("http://")
        if time.monotonic() > deadline:
            pytest.fail(f"GRPCRoute not accepted by the gateway: {parents}")
        time.sleep(1)


def _image_files(images: list[bytes], folder: Path) -> list[Path]:
    paths = [folder / f"{i}.jpg" for i in range(len(images))]
    for path, image in zip(paths, images, strict=True):
        path.write_bytes(image)
    return paths


def test_tf_serving_grpc_through_the_grpcroute(gateway, grpc_gateway, split_dir, tmp_path):
    """tensorflow-serving-api's stubs through Traefik: Predict answers as the REST predict
    through the HTTPRoute (within 1e-5); Classify, GetModelMetadata and ModelService's
    GetModelStatus are routed too, and an unknown model is the predictor's NOT_FOUND."""
    images = holdout_images(split_dir)[:3]
    rest = predict(gateway, images)
    got = run_grpc_client(sys.executable, "tfserving_grpc.py", grpc_gateway, MODEL, "predict",
                          _image_files(images, tmp_path))  # fmt: skip
    np.testing.assert_allclose(got["probabilities"], [p["probabilities"] for p in rest],
                               atol=1e-5, rtol=0)  # fmt: skip
    assert got["labels"] == [p["label"] for p in rest]
    assert [c[0][0] for c in got["classes"]] == got["labels"]
    assert got["signature_inputs"] == {"image_bytes": "string"}
    assert got["status"] == [[got["version"], "AVAILABLE"]]
    assert got["unknown_model"]["code"] == "NOT_FOUND", got["unknown_model"]


def test_kserve_v2_grpc_through_the_grpcroute(gateway, grpc_gateway, split_dir, tmp_path):
    """tritonclient.grpc through Traefik: ServerLive/Ready, ModelReady and ModelInfer answer
    as the v2 REST infer through the HTTPRoute (within 1e-5); health stays unrouted."""
    if not CLIENT_PYTHON.is_file():
        pytest.fail(f"{CLIENT_PYTHON} missing: run `make clients-venv`")
    images = holdout_images(split_dir)[:3]
    rest = predict(gateway, images)
    got = run_grpc_client(CLIENT_PYTHON, "triton_grpc.py", grpc_gateway, MODEL, "infer",
                          _image_files(images, tmp_path))  # fmt: skip
    assert (got["live"], got["ready"], got["model_ready"]) == (True, True, True)
    np.testing.assert_allclose(got["probabilities"], [p["probabilities"] for p in rest],
                               atol=1e-5, rtol=0)  # fmt: skip
    assert got["labels"] == [p["label"] for p in rest]
    assert got["unknown_model"]["status"] == "StatusCode.NOT_FOUND"
    # grpc.health.v1 is the kubelet's, inside the cluster: the route does not match it.
    with pytest.raises(grpc.RpcError) as unrouted:
        grpc_health(grpc_gateway)
    assert unrouted.value.code() == grpc.StatusCode.UNIMPLEMENTED, unrouted.value


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
    assert http_status(f"{gateway}/v2/models/{MODEL}") == 200
    assert http_status(f"{gateway}/metrics") == 404  # the APIs and the page are routed, not this


def test_web_page_through_the_gateway(gateway):
    """The predictor's page and its assets come through the route, with their CSP."""
    for path in ("/", f"/ui/models/{MODEL}", "/ui/assets/app.js"):
        with urllib.request.urlopen(gateway + path, timeout=10) as resp:
            assert resp.status == 200, path
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"], path
    assert http_status(f"{gateway}/ui/models/no-such-model") == 404


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
