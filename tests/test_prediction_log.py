"""Prediction logging (``--prediction-log-*``) of the real Go predictor, end to end.

The built predictor serves the fixture model and logs every request to a local directory,
a gs:// bucket (fake-gcs-server) or an s3:// bucket (moto); after SIGTERM the files are read
back as the pipeline's monitor step reads them (gzip JSON lines) and checked against what
the HTTP replies said, Keras's expected outputs and the bytes that were sent. With
``--prediction-log-url`` the same records also arrive as CloudEvents at a receiver on
loopback, read with the official CloudEvents SDK.
"""

import base64
import datetime
import gzip
import hashlib
import io
import json
import re
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from cloudevents.http import from_http
from PIL import Image

from components.storage import open_store
from pipelines.predictor_process import LocalPredictor

MODEL = "model"
ReadFiles = Callable[[], dict[str, bytes]]
"""Returns every object the log wrote: key under the log URI -> content."""


@pytest.fixture
def log_store(store_root) -> tuple[str, ReadFiles]:
    """A ``--prediction-log-uri`` on each store in turn (a local directory, gs://, s3://)
    and how to read back what was written under it."""
    uri = f"{store_root}/logs"

    def read() -> dict[str, bytes]:
        store = open_store(uri)
        return {name: store.read_bytes(name) for name in store.list_files()}

    return uri, read


def _post(
    predictor: LocalPredictor, path: str, body: bytes, content_type: str, request_id: str = ""
) -> tuple[dict, str]:
    """POST and return the JSON reply and the X-Request-Id response header."""
    req = urllib.request.Request(f"{predictor.url}{path}", data=body, method="POST")
    req.add_header("Content-Type", content_type)
    if request_id:
        req.add_header("X-Request-Id", request_id)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read()), resp.headers["X-Request-Id"]


def _records(files: dict[str, bytes]) -> list[dict]:
    return [
        json.loads(line)
        for data in files.values()
        for line in gzip.decompress(data).decode().splitlines()
    ]


def _mean_luma(image: bytes) -> float:
    rgb = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"), dtype=np.float64)
    return float((rgb @ [0.299, 0.587, 0.114]).mean() / 255)


def test_every_request_is_logged(
    log_store, fixture_model: Path, fixture_expected: dict, predictor_binary: Path, tmp_path
):
    uri, read = log_store
    names = sorted(fixture_expected)
    images = {n: (fixture_model / "images" / n).read_bytes() for n in names}
    dates = {datetime.datetime.now(datetime.UTC).date().isoformat()}
    predictor = LocalPredictor(
        fixture_model,
        MODEL,
        binary=predictor_binary,
        log_path=tmp_path / "predictor.log",
        extra_args=(
            f"--prediction-log-uri={uri}",
            "--prediction-log-sample-rate=1",
            "--prediction-log-inputs=bytes",
        ),
    )
    sent: dict[str, tuple[str, list[str], dict]] = {}  # request id -> endpoint, images, reply
    with predictor:
        for name in names:
            path = f"/v1/models/{MODEL}:classify-image?k=3"
            reply, rid = _post(predictor, path, images[name], "application/octet-stream")
            sent[rid] = ("classify-image", [name], reply)
        instances = [{"b64": base64.b64encode(images[n]).decode()} for n in names]
        body = json.dumps({"instances": instances}).encode()
        path = f"/v1/models/{MODEL}:predict"
        reply, rid = _post(predictor, path, body, "application/json", "caller-chosen-id")
        assert rid == "caller-chosen-id"
        sent[rid] = ("predict", names, reply)
        assert predictor.stop() == 0, predictor.log()
    dates.add(datetime.datetime.now(datetime.UTC).date().isoformat())

    files = read()
    assert files, predictor.log()
    key_pattern = re.compile(
        r"model/1/date=(\d{4}-\d{2}-\d{2})/predictions-\d{8}T\d{6}Z-[^/]+-\d+-\d{6}\.jsonl\.gz"
    )
    for key in files:
        match = key_pattern.fullmatch(key)
        assert match and match.group(1) in dates, key

    records = _records(files)
    assert len(records) == len(sent)
    assert {r["request_id"] for r in records} == set(sent)
    for record in records:
        endpoint, sent_names, reply = sent[record["request_id"]]
        assert (record["model"], record["version"], record["endpoint"]) == (MODEL, 1, endpoint)
        assert record["time"].endswith("Z") and record["latency_ms"] > 0
        datetime.datetime.fromisoformat(record["time"])
        assert len(record["instances"]) == len(sent_names)
        for i, (name, instance) in enumerate(zip(sent_names, record["instances"], strict=True)):
            want = fixture_expected[name]
            top = instance["top_k"]
            assert len(top) == len(want["probabilities"])  # 3 classes, fewer than top-k 5
            assert [c["score"] for c in top] == sorted((c["score"] for c in top), reverse=True)
            assert (top[0]["index"], top[0]["label"]) == (want["class_id"], want["label"])
            assert abs(top[0]["score"] - want["probabilities"][want["class_id"]]) <= 1e-5
            if endpoint == "classify-image":
                served = reply["results"][0]["predictions"][0]
                assert served["label"] == top[0]["label"]
                assert abs(served["score"] - top[0]["score"]) <= 1e-5
            else:
                served = reply["predictions"][i]
                assert served["label"] == top[0]["label"]
                assert abs(max(served["probabilities"]) - top[0]["score"]) <= 1e-5

            data = images[name]
            pil = Image.open(io.BytesIO(data))
            got = instance["input"]
            assert got["sha256"] == hashlib.sha256(data).hexdigest()
            assert base64.b64decode(got["bytes"]) == data
            assert (got["width"], got["height"]) == pil.size
            assert got["format"] == pil.format.lower()
            assert abs(got["brightness"] - _mean_luma(data)) <= 0.01  # JPEG decoders round apart


def test_sample_rate_zero_logs_nothing(fixture_model, predictor_binary, tmp_path):
    root = tmp_path / "predictions"
    image = (fixture_model / "images" / "image0.png").read_bytes()
    predictor = LocalPredictor(
        fixture_model,
        MODEL,
        binary=predictor_binary,
        log_path=tmp_path / "predictor.log",
        extra_args=(f"--prediction-log-uri={root}", "--prediction-log-sample-rate=0"),
    )
    with predictor:
        for _ in range(5):
            _post(predictor, f"/v1/models/{MODEL}:classify-image", image, "image/png")
        with urllib.request.urlopen(f"{predictor.url}/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
        assert predictor.stop() == 0, predictor.log()
    assert 'predictor_prediction_log_records_total{outcome="dropped_queue_full"} 0' in metrics
    assert not [p for p in root.rglob("*") if p.is_file()]


class _EventReceiver(BaseHTTPRequestHandler):
    """Keeps every POST (headers, body) in the server's ``received`` list; answers 204."""

    server: "_EventServer"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _EventServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EventReceiver)
        self.lock = threading.Lock()
        self.received: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture
def event_server() -> Iterator[_EventServer]:
    """A CloudEvents receiver on loopback, serving from a thread."""
    server = _EventServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_records_are_sent_as_cloudevents(
    event_server, fixture_model: Path, fixture_expected: dict, predictor_binary: Path, tmp_path
):
    names = sorted(fixture_expected)
    log_dir = tmp_path / "predictions"
    url = f"http://127.0.0.1:{event_server.server_address[1]}/events"
    predictor = LocalPredictor(
        fixture_model,
        MODEL,
        binary=predictor_binary,
        log_path=tmp_path / "predictor.log",
        extra_args=(f"--prediction-log-url={url}", f"--prediction-log-uri={log_dir}"),
    )
    sent: dict[str, tuple[str, dict]] = {}  # request id -> image name, reply
    with predictor:
        for name in names:
            image = (fixture_model / "images" / name).read_bytes()
            path = f"/v1/models/{MODEL}:classify-image"
            reply, rid = _post(predictor, path, image, "application/octet-stream")
            sent[rid] = (name, reply)
        assert predictor.stop() == 0, predictor.log()

    # The files hold the same records the events carry.
    files = {str(p.relative_to(log_dir)): p.read_bytes() for p in log_dir.rglob("*.jsonl.gz")}
    records = {r["request_id"]: r for r in _records(files)}
    assert set(records) == set(sent)

    with event_server.lock:
        received = list(event_server.received)
    assert len(received) == len(sent), predictor.log()
    ids = set()
    for headers, body in received:
        event = from_http(headers, body)
        assert event["specversion"] == "1.0"
        assert event["type"] == "org.imgclf.prediction"
        assert event["source"].startswith("imgclf-predictor/")
        assert headers["Content-Type"] == "application/json"
        ids.add(event["id"])
        record = json.loads(body)
        assert event.data == record  # the body is one record, as the files hold it
        rid = record["request_id"]
        assert rid in sent, rid
        assert event.data == records[rid]
        assert event["id"].startswith(f"{rid}-")
        assert event["time"] == record["time"]
        assert event["subject"] == f"{MODEL}/1"
        extensions = {k: event[k] for k in ("model", "modelversion", "endpoint", "requestid")}
        assert extensions == {
            "model": MODEL,
            "modelversion": "1",
            "endpoint": "classify-image",
            "requestid": rid,
        }
        name, reply = sent[rid]
        served = reply["results"][0]["predictions"][0]
        top = record["instances"][0]["top_k"][0]
        assert (top["label"], top["index"]) == (served["label"], fixture_expected[name]["class_id"])
        assert abs(top["score"] - served["score"]) <= 1e-5
    assert len(ids) == len(received)  # ce-id is unique per event
