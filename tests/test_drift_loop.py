"""The loop closed: the demo's published model, served by the real Go predictor with
prediction logging on, then the monitor step on what the predictor logged.

The held-out images are served three ways: as they are (like training), darkened, and
enlarged. Each run logs to its own URI; the monitor must count exactly the requests
sent and flag only the signal that was changed.
"""

import io
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from components.monitor.drift import monitor_drift
from pipelines.demo import MODEL_NAME
from pipelines.predictor_process import LocalPredictor

REPEATS = 3  # each held-out image is sent this many times


def _darkened(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).point(lambda v: v * 0.3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def _enlarged(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    image.resize((image.width * 2, image.height * 2), Image.Resampling.BILINEAR).save(
        out, format="JPEG", quality=95
    )
    return out.getvalue()


@pytest.fixture(scope="module")
def served(demo_run, predictor_binary, tmp_path_factory):
    """Serve the held-out images as they are, darkened and enlarged, each run logging to
    its own directory; returns the model base, the log URIs and the requests sent."""
    workdir, _ = demo_run
    holdout = sorted((workdir / "data" / "holdout").glob("*/*.jpg"))
    images = [p.read_bytes() for p in holdout]
    variants = {"as served": images, "darkened": [_darkened(b) for b in images]}
    variants["enlarged"] = [_enlarged(b) for b in images]
    logs = {}
    for name, batch in variants.items():
        logs[name] = tmp_path_factory.mktemp("predictions") / "logs"
        _serve(workdir / "models" / MODEL_NAME, predictor_binary, logs[name], batch * REPEATS)
    return workdir / "models", logs, len(images) * REPEATS


def _serve(model: Path, binary: Path, log_uri: Path, images: list[bytes]) -> None:
    args = (f"--prediction-log-uri={log_uri}", "--prediction-log-inputs=none")
    predictor = LocalPredictor(model, MODEL_NAME, binary=binary, extra_args=args)
    with predictor:
        for data in images:
            req = urllib.request.Request(
                f"{predictor.url}/v1/models/{MODEL_NAME}:classify-image", data=data
            )
            req.add_header("Content-Type", "image/jpeg")
            with urllib.request.urlopen(req, timeout=60) as resp:
                assert resp.status == 200
        assert predictor.stop() == 0, predictor.log()  # SIGTERM flushes the log


def _report(served, variant: str, tmp_path: Path):
    models, logs, sent = served
    report = monitor_drift(
        str(logs[variant]), str(models), MODEL_NAME, tmp_path / "report", days=1,
        min_instances=sent,
    )  # fmt: skip
    assert (report.records, report.instances, report.bad_lines) == (sent, sent, 0)
    assert report.sufficient_data and not report.corrupt_files
    return report


def test_served_like_training_is_not_drift_in_size(served, tmp_path):
    report = _report(served, "as served", tmp_path)
    size = report.signals["image_size"]
    assert size.score is not None and size.score < 0.01 and not size.drifted
    assert (tmp_path / "report" / "drift_report.png").stat().st_size > 1000


def test_darker_requests_drift_in_brightness_only(served, tmp_path):
    report = _report(served, "darkened", tmp_path)
    assert report.signals["brightness"].drifted
    assert not report.signals["image_size"].drifted
    assert report.drifted


def test_larger_requests_drift_in_size_only(served, tmp_path):
    baseline = _report(served, "as served", tmp_path / "a").signals["brightness"]
    report = _report(served, "enlarged", tmp_path / "b")
    assert report.signals["image_size"].drifted
    assert report.signals["brightness"].drifted == baseline.drifted
    assert report.drifted
