"""Shadow agreement (components/deploy/agreement.py) on what the real Go predictor logged.

One predictor serves three versions of the fixture model (``--model-version-policy=all``):
1 (the fixture), 2 (an identical copy of it) and 3 (``variant/1``: the same signature,
other weights, which gives each fixture image another class by construction). The same
images go to each version by its own URL, as a gateway that mirrors traffic to a shadow
sends them, and every version logs with input hashes. The expected figures are computed
here from the predictor's HTTP answers, pairing by which image was sent, never from the
logs.
"""

import base64
import io
import json
import shutil
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.deploy.agreement import check_agreement, compare_versions
from components.errors import DataError
from pipelines.predictor_process import LocalPredictor

MODEL = "model"
CLASSES = ["cat", "dog", "bird"]  # the fixture's labels, by index
STABLE, TWIN, SHADOW = 1, 2, 3  # the fixture, a copy of it, the variant


@dataclass
class Sent:
    """One answer the predictor gave over HTTP: to which version, for which image."""

    version: int
    image: str
    probabilities: list[float]  # by class index


@dataclass
class Served:
    log_uri: str
    start: datetime  # before the first request
    middle: datetime  # between phase A and phase B
    end: datetime  # after the last answer
    phases: dict[str, list[Sent]] = field(default_factory=dict)
    requests: dict[str, dict[int, int]] = field(default_factory=dict)  # phase -> version -> n


def _synthetic(i: int) -> bytes:
    """A PNG of a colour gradient or noise, of one of several sizes."""
    rng = np.random.default_rng(100 + i)
    w, h = 32 + 4 * (i % 5), 32 + 3 * (i % 4)
    if i % 2:
        yy, xx = np.mgrid[0:h, 0:w]
        a, c = rng.uniform(-6, 6, size=(2, 3)), rng.uniform(0, 255, size=3)
        pixels = c + xx[..., None] * a[0] + yy[..., None] * a[1]
    else:
        pixels = rng.integers(0, 256, size=3) + rng.normal(0, 60, size=(h, w, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _model_base(fixture_model: Path, into: Path) -> Path:
    for version, source in ((STABLE, "1"), (TWIN, "1"), (SHADOW, "variant/1")):
        shutil.copytree(fixture_model / source, into / str(version))
    return into


def _start(base: Path, binary: Path, log_uri: str, inputs: str, log: Path) -> LocalPredictor:
    args = (
        "--model-version-policy=all",
        f"--prediction-log-uri={log_uri}",
        f"--prediction-log-inputs={inputs}",
    )
    predictor = LocalPredictor(base, MODEL, binary=binary, log_path=log, extra_args=args)
    predictor.wait_ready()
    deadline, states = time.monotonic() + 30, {}
    while time.monotonic() < deadline:  # ready means one version: wait for all three
        status, reply = predictor.request("GET", f"/v1/models/{MODEL}")
        states = {s["version"]: s["state"] for s in reply.get("model_version_status", [])}
        if status == 200 and states == dict.fromkeys(("1", "2", "3"), "AVAILABLE"):
            return predictor
        time.sleep(0.1)
    predictor.stop()
    raise AssertionError(f"versions not all available: {states}: {predictor.log()}")


def _predict(predictor: LocalPredictor, version: int, images: dict[str, bytes]) -> list[Sent]:
    """One ``:predict`` request (a batch: one log record of several instances)."""
    instances = [{"b64": base64.b64encode(data).decode()} for data in images.values()]
    body = json.dumps({"instances": instances}).encode()
    status, reply = predictor.request(
        "POST", f"/v1/models/{MODEL}/versions/{version}:predict", body
    )
    assert status == 200, reply
    return [
        Sent(version, name, p["probabilities"])
        for name, p in zip(images, reply["predictions"], strict=True)
    ]


def _classify(predictor: LocalPredictor, version: int, name: str, data: bytes) -> Sent:
    """One ``:classify-image`` request of one image, every class in the answer."""
    path = f"/v1/models/{MODEL}/versions/{version}:classify-image?k={len(CLASSES)}"
    reply = _post_image(predictor, path, data)
    assert reply["version"] == str(version)
    probabilities = [0.0] * len(CLASSES)
    for p in reply["results"][0]["predictions"]:
        probabilities[CLASSES.index(p["label"])] = p["score"]
    return Sent(version, name, probabilities)


def _post_image(predictor: LocalPredictor, path: str, data: bytes) -> dict:
    """POST an encoded image as the body; an HTTP error raises."""
    req = urllib.request.Request(f"{predictor.url}{path}", data=data, method="POST")
    req.add_header("Content-Type", "application/octet-stream")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def images(fixture_model) -> dict[str, bytes]:
    """Synthetic images (some of which the two models happen to give the same class),
    then the fixture's (each of which they give different classes, by construction)."""
    folder = fixture_model / "images"
    synthetic = {f"synthetic{i}.png": _synthetic(i) for i in range(20, 32)}
    return synthetic | {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def base(fixture_model, tmp_path_factory) -> Path:
    return _model_base(fixture_model, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def served(base, images, predictor_binary, tmp_path_factory) -> Served:
    """Phase A: every image to each version, as one batch each. Phase B (after
    ``middle``): images one by one, some only to one side, some several times."""
    tmp = tmp_path_factory.mktemp("shadow")
    log_uri = str(tmp / "logs")
    predictor = _start(base, predictor_binary, log_uri, "hash", tmp / "predictor.log")
    with predictor:
        start = datetime.now(UTC)
        phase_a = [s for v in (STABLE, TWIN, SHADOW) for s in _predict(predictor, v, images)]
        time.sleep(0.05)
        middle = datetime.now(UTC)
        time.sleep(0.05)
        names = list(images)
        extra = {"stable-only.png": _synthetic(100), "shadow-only.png": _synthetic(101)}
        plan = {  # version -> images sent one per request, in order
            STABLE: names[:6] + [names[0], names[0], "stable-only.png"],  # names[0] 3 times
            TWIN: names[:6] + [names[0], names[0], "stable-only.png"],
            SHADOW: names[1:6] + [names[1], "shadow-only.png"],  # names[1] twice
        }
        phase_b = [
            _classify(predictor, v, name, (images | extra)[name])
            for v, sent in plan.items()
            for name in sent
        ]
        end = datetime.now(UTC)
        assert predictor.stop() == 0, predictor.log()  # SIGTERM writes what is queued
    requests = {
        "A": {v: 1 for v in (STABLE, TWIN, SHADOW)},
        "B": {v: len(sent) for v, sent in plan.items()},
    }
    return Served(log_uri, start, middle, end, {"A": phase_a, "B": phase_b}, requests)


def _expected(answers: list[Sent], stable: int, shadow: int) -> dict:
    """The figures, from the HTTP answers: each shadow answer paired with the stable
    version's (first) answer for the same image."""
    by_image: dict[str, list[float]] = {}
    for s in answers:
        if s.version == stable:
            by_image.setdefault(s.image, s.probabilities)
    pairs = agreeing = 0
    deltas: list[float] = []
    for s in answers:
        if s.version != shadow or s.image not in by_image:
            continue
        want = by_image[s.image]
        pairs += 1
        agreeing += int(np.argmax(want)) == int(np.argmax(s.probabilities))
        deltas += [abs(a - b) for a, b in zip(want, s.probabilities, strict=True)]
    return {
        "pairs": pairs,
        "stable_instances": sum(s.version == stable for s in answers),
        "shadow_instances": sum(s.version == shadow for s in answers),
        "top1": agreeing / pairs,
        "max": max(deltas),
        "mean": sum(deltas) / len(deltas),
    }


def test_identical_models_agree_exactly(served):
    agreement = compare_versions(served.log_uri, MODEL, STABLE, TWIN, served.start)
    answers = served.phases["A"] + served.phases["B"]
    want = _expected(answers, STABLE, TWIN)
    assert agreement.pairs == want["pairs"] == 16 + 9  # every image version 2 answered
    assert (agreement.stable_records, agreement.shadow_records) == (1 + 9, 1 + 9)
    assert agreement.top1_agreement == 1.0
    assert agreement.max_probability_delta is not None
    assert agreement.max_probability_delta < 1e-5
    assert agreement.mean_probability_delta is not None
    assert agreement.mean_probability_delta < 1e-5
    assert (agreement.unhashed, agreement.unscored, agreement.bad_lines) == (0, 0, 0)
    assert not agreement.corrupt_files and not agreement.hashless_versions
    assert check_agreement(agreement, min_top1=0.99, max_delta=1e-4, min_pairs=20) == []
    assert json.loads(json.dumps(asdict(agreement)))["pairs"] == 25  # the deploy report's
    assert "25 paired images, top-1 agreement 100.0%" in agreement.summary()


def test_different_models_give_the_figures_of_their_http_answers(served):
    agreement = compare_versions(served.log_uri, MODEL, STABLE, SHADOW, served.start)
    want = _expected(served.phases["A"] + served.phases["B"], STABLE, SHADOW)
    # phase A: 16 images; phase B: names[1..5] and names[1] again, not shadow-only.png
    assert agreement.pairs == want["pairs"] == 16 + 6
    assert (agreement.stable_records, agreement.shadow_records) == (1 + 9, 1 + 7)
    assert (agreement.stable_instances, agreement.shadow_instances) == (
        want["stable_instances"],
        want["shadow_instances"],
    )
    assert want["top1"] < 1  # the variant gives each fixture image another class
    assert agreement.top1_agreement == pytest.approx(want["top1"], abs=1e-12)
    assert agreement.max_probability_delta == pytest.approx(want["max"], abs=1e-6)
    assert agreement.mean_probability_delta == pytest.approx(want["mean"], abs=1e-6)

    failures = check_agreement(agreement, min_top1=0.99, max_delta=0.01, min_pairs=5)
    assert len(failures) == 2, failures
    assert f"top-1 agreement {want['top1']:.2%} over 22 pairs" in failures[0]
    assert "below the minimum 99.00%" in failures[0]
    assert "largest probability delta" in failures[1] and "above the bound 0.01" in failures[1]
    lax = check_agreement(agreement, min_top1=0.0, max_delta=1.0, min_pairs=22)
    assert lax == []
    summary = agreement.summary()
    assert f"22 paired images, top-1 agreement {want['top1']:.1%}" in summary
    assert "shadow v3 vs stable v1" in summary and "\n" not in summary


def test_records_outside_the_window_are_excluded(served):
    for phase, since, until in (
        ("A", served.start, served.middle),
        ("B", served.middle, None),
        ("B", served.middle, served.end),
    ):
        agreement = compare_versions(served.log_uri, MODEL, STABLE, SHADOW, since, until)
        want = _expected(served.phases[phase], STABLE, SHADOW)
        assert agreement.pairs == want["pairs"], phase
        assert agreement.stable_records == served.requests[phase][STABLE]
        assert agreement.shadow_records == served.requests[phase][SHADOW]
        assert agreement.top1_agreement == pytest.approx(want["top1"], abs=1e-12)
        assert agreement.max_probability_delta == pytest.approx(want["max"], abs=1e-6)
        assert agreement.mean_probability_delta == pytest.approx(want["mean"], abs=1e-6)
    # a naive datetime is UTC; a window after the traffic holds none of it
    later = (served.end + timedelta(seconds=1)).replace(tzinfo=None)
    empty = compare_versions(served.log_uri, MODEL, STABLE, SHADOW, later)
    assert (empty.stable_records, empty.shadow_records, empty.pairs) == (0, 0, 0)
    assert empty.top1_agreement is None and empty.max_probability_delta is None
    with pytest.raises(DataError, match="is after until"):
        compare_versions(served.log_uri, MODEL, STABLE, SHADOW, served.end, served.start)


def test_too_few_pairs_fail_the_check_however_they_agree(served):
    agreement = compare_versions(served.log_uri, MODEL, STABLE, TWIN, served.middle)
    assert (agreement.pairs, agreement.top1_agreement) == (9, 1.0)
    failures = check_agreement(agreement, min_top1=0.0, max_delta=1.0, min_pairs=10)
    assert len(failures) == 1
    assert failures[0].startswith("not enough mirrored traffic: 9 images paired")
    assert "at least 10 needed" in failures[0]

    nothing = compare_versions(served.log_uri, MODEL, STABLE, TWIN, served.end + timedelta(1))
    failures = check_agreement(nothing, min_top1=0.0, max_delta=1.0, min_pairs=1)
    assert failures == [
        "not enough mirrored traffic: 0 images paired between shadow v2 (0 images logged) "
        "and stable v1 (0 images logged), at least 1 needed"
    ]
    assert "no paired images" in nothing.summary()
    with pytest.raises(DataError, match="min_pairs must be at least 1"):
        check_agreement(agreement, min_top1=0.0, max_delta=1.0, min_pairs=0)


def test_logs_without_input_hashes_say_which_flag_is_needed(
    base, images, predictor_binary, tmp_path
):
    log_uri = str(tmp_path / "logs")
    predictor = _start(base, predictor_binary, log_uri, "none", tmp_path / "predictor.log")
    with predictor:
        start = datetime.now(UTC)
        for version in (STABLE, SHADOW):
            _predict(predictor, version, images)
        assert predictor.stop() == 0, predictor.log()

    agreement = compare_versions(log_uri, MODEL, STABLE, SHADOW, start)
    assert (agreement.stable_records, agreement.shadow_records) == (1, 1)
    assert agreement.unhashed == 2 * len(images)
    assert (agreement.pairs, agreement.hashless_versions) == (0, (STABLE, SHADOW))
    assert agreement.top1_agreement is None
    message = "v1 and v3 carry no input hashes"
    assert message in agreement.summary()
    assert "--prediction-log-inputs hash (or bytes)" in agreement.summary()
    with pytest.raises(
        DataError, match=r"no input hashes.*--prediction-log-inputs hash \(or bytes\)"
    ):
        check_agreement(agreement, min_top1=0.9, max_delta=0.1, min_pairs=1)
