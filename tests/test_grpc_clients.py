"""The standard gRPC clients against the predictor: tensorflow-serving-api's stubs (in .venv,
they import TensorFlow's protos) and tritonclient.grpc (in build/clients-venv, as
tests/test_v2_clients.py runs the HTTP ones), compared with Keras's outputs."""

import json
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from standard_clients import CLIENT_PYTHON, check_predictions, grpc_health, run_grpc_client

from pipelines.predictor_process import LocalPredictor


def _images(fixture_model: Path, names: list[str]) -> list[Path]:
    return [fixture_model / "images" / n for n in names]


def _run(python: str | Path, script: str, target: str, mode: str, images: list[Path]) -> dict:
    return run_grpc_client(python, script, target, "model", mode, images)


def _target(predictor: LocalPredictor) -> str:
    return f"127.0.0.1:{predictor.grpc_port}"


def test_tfserving_stubs_equal_keras(fixture_predictor, fixture_model, fixture_expected):
    names = sorted(fixture_expected)
    got = _run(
        sys.executable,
        "tfserving_grpc.py",
        _target(fixture_predictor),
        "predict",
        _images(fixture_model, names),
    )

    assert got["version"] == 1
    check_predictions(got, fixture_expected, names)
    for name, classes in zip(names, got["classes"], strict=True):
        want = fixture_expected[name]
        assert classes[0][0] == want["label"]
        assert abs(classes[0][1] - max(want["probabilities"])) <= 1e-5
    assert got["signature_inputs"] == {"image_bytes": "string"}
    assert got["method_name"] == "tensorflow/serving/predict"
    assert got["status"] == [[1, "AVAILABLE"]]
    assert got["unknown_model"]["code"] == "NOT_FOUND"
    # The same message as the REST error for the same request.
    with pytest.raises(urllib.error.HTTPError) as rest:
        urllib.request.urlopen(f"{fixture_predictor.url}/v1/models/no-such-model", timeout=10)
    assert got["unknown_model"]["details"] == json.loads(rest.value.read())["error"]


def test_tfserving_oversize_message_is_resource_exhausted(fixture_predictor, fixture_model):
    got = _run(sys.executable, "tfserving_grpc.py", _target(fixture_predictor), "oversize", [])
    assert got["code"] == "RESOURCE_EXHAUSTED", got


def test_tritonclient_grpc_equals_keras(fixture_predictor, fixture_model, fixture_expected):
    if not CLIENT_PYTHON.is_file():
        pytest.fail(f"{CLIENT_PYTHON} missing: run `make clients-venv`")
    names = sorted(fixture_expected)
    got = _run(
        CLIENT_PYTHON,
        "triton_grpc.py",
        _target(fixture_predictor),
        "infer",
        _images(fixture_model, names),
    )

    assert (got["live"], got["ready"], got["model_ready"]) == (True, True, True)
    assert (got["id"], got["model_version"]) == ("client-1", "1")
    assert [(i["name"], i["datatype"]) for i in got["metadata"]["inputs"]] == [
        ("image_bytes", "BYTES")
    ]
    check_predictions(got, fixture_expected, names)
    for name, top in zip(names, got["top2"], strict=True):
        want = fixture_expected[name]["probabilities"]
        best = sorted(range(len(want)), key=lambda i: -want[i])[:2]
        assert [int(entry.split(":")[1]) for entry in top] == best, (name, top)
    assert got["unknown_model"]["status"] == "StatusCode.NOT_FOUND"


def test_tritonclient_grpc_names_the_element_that_is_not_an_image(
    fixture_predictor, fixture_model, fixture_expected
):
    if not CLIENT_PYTHON.is_file():
        pytest.fail(f"{CLIENT_PYTHON} missing: run `make clients-venv`")
    names = sorted(fixture_expected)[:2]
    got = _run(
        CLIENT_PYTHON,
        "triton_grpc.py",
        _target(fixture_predictor),
        "not-an-image",
        _images(fixture_model, names),
    )
    assert got["status"] == "StatusCode.INVALID_ARGUMENT", got
    assert "element 1" in got["message"], got


def test_health_is_not_serving_while_draining(fixture_model, predictor_binary):
    with LocalPredictor(
        fixture_model, "model", binary=predictor_binary, extra_args=("--shutdown-delay=3s",)
    ) as p:
        assert grpc_health(_target(p)) == "SERVING"
        p.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 2
        while grpc_health(_target(p)) != "NOT_SERVING":
            assert time.monotonic() < deadline, "health still SERVING after SIGTERM"
            time.sleep(0.05)
        assert p.stop() == 0, p.log()
