"""The real Go predictor binary over real HTTP on loopback, serving the fixture SavedModel."""

import base64
import concurrent.futures
import json
import struct
import subprocess
import time
import urllib.error
import urllib.request
import zlib

import pytest

from components.storage import publish_version
from pipelines.predictor_process import LocalPredictor

MODEL = "model"


def _b64(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


def test_status_reports_version_1_available(fixture_predictor):
    status, body = fixture_predictor.request("GET", f"/v1/models/{MODEL}")
    assert status == 200
    (version,) = body["model_version_status"]
    assert (version["version"], version["state"]) == ("1", "AVAILABLE")


def test_predictions_equal_keras_within_1e_5(fixture_predictor, fixture_model, fixture_expected):
    names = sorted(fixture_expected)
    images = [(fixture_model / "images" / n).read_bytes() for n in names]
    predictions = fixture_predictor.predict(images)
    for name, prediction in zip(names, predictions, strict=True):
        want = fixture_expected[name]
        assert prediction["label"] == want["label"]
        assert prediction["class_id"] == want["class_id"]
        assert len(prediction["probabilities"]) == len(want["probabilities"])
        for got, exp in zip(prediction["probabilities"], want["probabilities"], strict=True):
            assert abs(got - exp) <= 1e-5, (name, got, exp)


def test_columnar_inputs_give_columnar_outputs(fixture_predictor, fixture_model, fixture_expected):
    image = (fixture_model / "images" / "image1.jpg").read_bytes()
    body = json.dumps({"inputs": {"image_bytes": [_b64(image)]}}).encode()
    status, reply = fixture_predictor.request("POST", f"/v1/models/{MODEL}:predict", body)
    assert status == 200, reply
    assert reply["outputs"]["label"] == [fixture_expected["image1.jpg"]["label"]]


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
    fixture_predictor, fixture_model, body, words
):
    status, reply = fixture_predictor.request("POST", f"/v1/models/{MODEL}:predict", body)
    assert status == 400
    assert words in reply["error"].lower()
    image = (fixture_model / "images" / "image0.png").read_bytes()
    assert len(fixture_predictor.predict([image])) == 1
    assert fixture_predictor.process.poll() is None


def test_unknown_model_is_404(fixture_predictor):
    status, reply = fixture_predictor.request("GET", "/v1/models/nope")
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


def test_v2_infer_equals_keras(fixture_predictor, fixture_model, fixture_expected):
    names = sorted(fixture_expected)
    data = [base64.b64encode((fixture_model / "images" / n).read_bytes()).decode() for n in names]
    inputs = [{"name": "image_bytes", "datatype": "BYTES", "shape": [len(data)], "data": data}]
    body = json.dumps({"id": "t1", "inputs": inputs}).encode()
    status, reply = fixture_predictor.request("POST", f"/v2/models/{MODEL}/infer", body)
    assert status == 200, reply
    assert (reply["model_name"], reply["model_version"], reply["id"]) == (MODEL, "1", "t1")
    outputs = {o["name"]: o for o in reply["outputs"]}
    probs = outputs["probabilities"]
    assert probs["datatype"] == "FP32" and probs["shape"] == [len(names), 3]
    for i, name in enumerate(names):
        got = probs["data"][3 * i : 3 * i + 3]
        for g, e in zip(got, fixture_expected[name]["probabilities"], strict=True):
            assert abs(g - e) <= 1e-5, (name, got)
    assert outputs["label"]["data"] == [fixture_expected[n]["label"] for n in names]
    status, ready = fixture_predictor.request("GET", f"/v2/models/{MODEL}/ready")
    assert status == 200 and ready["ready"] is True


def _post_raw(url: str, body: bytes, content_type: str) -> tuple[int, dict, dict]:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), dict(err.headers)


def test_classify_image_returns_top_k_labels(fixture_predictor, fixture_model, fixture_expected):
    image = (fixture_model / "images" / "image1.jpg").read_bytes()
    url = f"{fixture_predictor.url}/v1/models/{MODEL}:classify-image?k=2"
    status, reply, _ = _post_raw(url, image, "image/jpeg")
    assert status == 200, reply
    (result,) = reply["results"]
    top = result["predictions"]
    want = fixture_expected["image1.jpg"]
    assert len(top) == 2 and top[0]["label"] == want["label"]
    assert abs(top[0]["score"] - max(want["probabilities"])) <= 1e-5
    status, reply, _ = _post_raw(url, image[: len(image) // 2], "image/jpeg")
    assert status == 400 and "truncated" in reply["error"]


def test_oversized_body_and_image_bomb_get_413(fixture_predictor):
    huge = b'{"instances": ["' + b"A" * (17 << 20) + b'"]}'
    status, reply = fixture_predictor.request("POST", f"/v1/models/{MODEL}:predict", huge)
    assert status == 413 and "larger than" in reply["error"]
    # A PNG header claiming 100000 x 100000 pixels: rejected from the header alone.
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    url = f"{fixture_predictor.url}/v1/models/{MODEL}:classify-image"
    status, reply, _ = _post_raw(url, bomb, "image/png")
    assert status == 413 and "max-image-pixels" in reply["error"]
    assert fixture_predictor.process.poll() is None


def test_overload_sheds_with_429_and_retry_after(fixture_model, predictor_binary, tmp_path):
    args = ("--batching", "--max-batch-size=1", "--batch-threads=1", "--max-queued=1")
    image = (fixture_model / "images" / "image3.jpg").read_bytes()
    body = json.dumps({"instances": [_b64(image)] * 8}).encode()
    with LocalPredictor(
        fixture_model, MODEL, binary=predictor_binary, extra_args=args, log_path=tmp_path / "log"
    ) as p:
        url = f"{p.url}/v1/models/{MODEL}:predict"
        with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
            replies = list(pool.map(lambda _: _post_raw(url, body, "application/json"), range(48)))
        codes = [status for status, _, _ in replies]
        assert 200 in codes and 429 in codes, codes
        assert set(codes) <= {200, 429}, codes
        shed = next(r for r in replies if r[0] == 429)
        assert shed[2].get("Retry-After") == "1" and "queued" in shed[1]["error"]
        assert len(p.predict([image])) == 1


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _versions(p: LocalPredictor) -> dict[str, str]:
    status, body = p.request("GET", f"/v1/models/{MODEL}")
    assert status == 200, body
    return {v["version"]: v["state"] for v in body["model_version_status"]}


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """Models A and B: the same signature, different weights (bench/soak/models.py)."""
    from bench.soak.models import build

    return build(tmp_path_factory.mktemp("ab"))


def _answer(p: LocalPredictor, models) -> tuple[str, str | None]:
    """(the version the v2 answer names, the model whose exact output it is: A, B or None)."""
    status, reply = p.request("POST", f"/v2/models/{MODEL}/infer", models.v2_body)
    assert status == 200, reply
    return reply["model_version"], models.which(json.dumps(reply).encode())


def test_new_published_version_is_picked_up(store_root, two_models, predictor_binary, tmp_path):
    # Version 1 is model A, version 2 model B: an answer is checked against the exact
    # weights of the version that claims it. No request is in flight across the swap
    # (they are sequential), so once version 1 is reported END none may come from it.
    base = f"{store_root}/zoo"
    assert publish_version(two_models.exports["A"], base, MODEL).version == 1
    args = ("--poll-interval=200ms",)
    log = tmp_path / "log"
    with LocalPredictor(
        f"{base}/{MODEL}", MODEL, binary=predictor_binary, extra_args=args, log_path=log
    ) as p:
        assert _versions(p) == {"1": "AVAILABLE"}
        assert _answer(p, two_models) == ("1", "A")
        assert publish_version(two_models.exports["B"], base, MODEL).version == 2
        _wait_for(lambda: _versions(p) == {"2": "AVAILABLE", "1": "END"})
        for _ in range(5):
            assert _answer(p, two_models) == ("2", "B")
        status, meta = p.request("GET", f"/v2/models/{MODEL}")
        assert status == 200 and meta["versions"] == ["2"]
