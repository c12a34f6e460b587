"""The real Go predictor binary over real HTTP on loopback, serving the fixture SavedModel."""

import base64
import json
import subprocess

import pytest

from pipelines.predictor_process import LocalPredictor

MODEL = "model"


@pytest.fixture(scope="module")
def predictor(fixture_model, predictor_binary):
    with LocalPredictor(fixture_model, MODEL, binary=predictor_binary) as p:
        yield p


@pytest.fixture(scope="module")
def expected(fixture_model):
    return json.loads((fixture_model / "expected.json").read_text())["images"]


def _b64(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


def test_status_reports_version_1_available(predictor):
    status, body = predictor.request("GET", f"/v1/models/{MODEL}")
    assert status == 200
    (version,) = body["model_version_status"]
    assert (version["version"], version["state"]) == ("1", "AVAILABLE")


def test_predictions_equal_keras_within_1e_5(predictor, fixture_model, expected):
    names = sorted(expected)
    predictions = predictor.predict([(fixture_model / "images" / n).read_bytes() for n in names])
    for name, prediction in zip(names, predictions, strict=True):
        want = expected[name]
        assert prediction["label"] == want["label"]
        assert prediction["class_id"] == want["class_id"]
        assert len(prediction["probabilities"]) == len(want["probabilities"])
        for got, exp in zip(prediction["probabilities"], want["probabilities"], strict=True):
            assert abs(got - exp) <= 1e-5, (name, got, exp)


def test_columnar_inputs_give_columnar_outputs(predictor, fixture_model, expected):
    image = (fixture_model / "images" / "image1.jpg").read_bytes()
    body = json.dumps({"inputs": {"image_bytes": [_b64(image)]}}).encode()
    status, reply = predictor.request("POST", f"/v1/models/{MODEL}:predict", body)
    assert status == 200, reply
    assert reply["outputs"]["label"] == [expected["image1.jpg"]["label"]]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "json"),
        (json.dumps({"instances": [{"b64": "!!!not base64"}]}).encode(), "base64"),
        (json.dumps({"instances": [_b64(b"plain text, not an image")]}).encode(), "image"),
        (json.dumps({"instances": []}).encode(), "instances"),
        (json.dumps({"wrong": 1}).encode(), "instances"),
    ],
)
def test_bad_requests_get_400_json_and_the_server_keeps_serving(
    predictor, fixture_model, body, words
):
    status, reply = predictor.request("POST", f"/v1/models/{MODEL}:predict", body)
    assert status == 400
    assert words in reply["error"].lower()
    image = (fixture_model / "images" / "image0.png").read_bytes()
    assert len(predictor.predict([image])) == 1
    assert predictor.process.poll() is None


def test_unknown_model_is_404(predictor):
    status, reply = predictor.request("GET", "/v1/models/nope")
    assert status == 404 and "nope" in reply["error"]


def test_missing_model_directory_is_a_one_line_startup_error(predictor_binary, tmp_path):
    missing = tmp_path / "no-such-model"
    proc = subprocess.run(
        [str(predictor_binary), f"--model-base-path={missing}", "--listen-addr=127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert str(missing) in proc.stderr
