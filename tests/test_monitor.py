"""The drift monitor: prediction logs as the Go predictor writes them (gzip JSON lines under
``<log_uri>/<model>/<version>/date=YYYY-MM-DD/``) against a version's ``data_stats``.

Expected values are computed here by hand (PSI of written-out shares, luma of known
colours), not by the code under test.
"""

import gzip
import io
import json
import math
import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from kfp import compiler
from kfp_conditions import gates, pipeline_parameters, runs
from PIL import Image

from components.brightness import mean_luma
from components.errors import DataError
from components.export.publish import data_stats
from components.monitor.drift import (
    REPORT_JSON,
    REPORT_PNG,
    monitor_drift,
    psi,
    training_decision,
    window,
)
from components.monitor.logs import ServedTally
from components.monitor.schema import REPORT_SCHEMA
from components.prepare.dataset import prepare_dataset, read_split
from pipelines.local import run_local
from pipelines.training import training_pipeline

MODEL = "faces"
CLASSES = ["alice", "bob", "carol"]
EDGES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
DATA_STATS = {
    "classes": CLASSES,
    "train_counts": {"alice": 60, "bob": 30, "carol": 10},
    "image_sizes": {"250x250": 90, "200x300": 10},
    "brightness": {"edges": EDGES, "counts": [0, 0, 5, 20, 40, 25, 10, 0, 0, 0]},
}
DAY = date(2026, 12, 6)
SIGNALS = ("predicted_class", "image_size", "brightness", "low_confidence")


# ---- logs in the predictor's format ---------------------------------------------------


def instance(label: str, score: float = 0.9, size=(250, 250), brightness=0.45) -> dict:
    """One served instance: top-k over every class (best first) and the image's input stats."""
    rest = [c for c in CLASSES if c != label]
    top_k = [{"index": CLASSES.index(label), "label": label, "score": score}] + [
        {"index": CLASSES.index(c), "label": c, "score": (1 - score) / len(rest)} for c in rest
    ]
    return {
        "top_k": top_k,
        "input": {
            "format": "jpeg",
            "width": size[0],
            "height": size[1],
            "brightness": brightness,
            "sha256": uuid.uuid4().hex * 2,
        },
    }


def record(instances: list[dict], day: date = DAY, version: int = 1) -> dict:
    return {
        "time": f"{day.isoformat()}T12:34:56.789012Z",
        "request_id": uuid.uuid4().hex,
        "model": MODEL,
        "version": version,
        "endpoint": "classify-image",
        "latency_ms": 12.5,
        "instances": instances,
    }


def gzip_lines(lines: list) -> bytes:
    text = "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines)
    return gzip.compress(text.encode())


def log_key(day: date = DAY, version: int = 1, n: int = 1) -> str:
    stamp = day.strftime("%Y%m%dT120000Z")
    return f"{MODEL}/{version}/date={day.isoformat()}/predictions-{stamp}-host-1-{n:06d}.jsonl.gz"


def like_training(n: int, seed: int = 0, **skew) -> list[dict]:
    """``n`` instances drawn from DATA_STATS's distributions (labels with the training class
    shares, sizes with the size histogram, brightness uniform inside a bin drawn with the
    brightness histogram), one request each; ``skew`` fixes a field for every instance."""
    rng = random.Random(seed)
    counts = DATA_STATS["brightness"]["counts"]
    sizes = DATA_STATS["image_sizes"]
    records = []
    for _ in range(n):
        label = rng.choices(CLASSES, weights=[60, 30, 10])[0]
        (size,) = rng.choices(list(sizes), weights=list(sizes.values()))
        bin_ = rng.choices(range(10), weights=counts)[0]
        brightness = round(EDGES[bin_] + rng.uniform(0.001, 0.099), 4)
        values = {
            "label": label,
            "size": tuple(int(v) for v in size.split("x")),
            "brightness": brightness,
            "score": 0.9 if rng.random() > 0.05 else 0.4,
        }
        values.update({k: v(values) if callable(v) else v for k, v in skew.items()})
        records.append(record([instance(**values)]))
    return records


class Store:
    """A local directory, a fake-gcs-server bucket or a moto bucket, written with the
    store's own client (not the code under test)."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest):
        self.kind = kind
        if kind == "local":
            self.root, self.uri = tmp_path / "store", str(tmp_path / "store")
        elif kind == "gs":
            emulator = request.getfixturevalue("gcs")
            self.bucket = emulator.create_bucket(f"monitor-{uuid.uuid4().hex[:8]}")
            self.uri = f"gs://{self.bucket.name}"
        else:
            emulator = request.getfixturevalue("s3")
            self.client, self.name = (
                emulator.client,
                emulator.create_bucket(f"monitor-{uuid.uuid4().hex[:8]}"),
            )
            self.uri = f"s3://{self.name}"

    def put(self, key: str, data: bytes) -> None:
        if self.kind == "local":
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            (self.root / key).write_bytes(data)
        elif self.kind == "gs":
            self.bucket.blob(key).upload_from_string(data)
        else:
            self.client.put_object(Bucket=self.name, Key=key, Body=data)


def publish_reference(store: Store, prefix: str, version: int = 1, stats=DATA_STATS) -> None:
    """What the export step publishes, as far as the monitor reads it."""
    metadata = {"model_name": MODEL, "classes": CLASSES}
    if stats is not None:
        metadata["data_stats"] = stats
    store.put(f"{prefix}/{MODEL}/{version}/metadata.json", json.dumps(metadata).encode())
    store.put(f"{prefix}/{MODEL}/{version}/_COMPLETE", b'{"files": {}}')


@pytest.fixture
def local(tmp_path, request) -> Store:
    store = Store("local", tmp_path, request)
    publish_reference(store, "models")
    return store


def monitor(store: Store, out: Path, **options) -> dict:
    options = {"since": DAY, "until": DAY, **options}
    monitor_drift(f"{store.uri}/logs", f"{store.uri}/models", MODEL, out, **options)
    report = json.loads((out / REPORT_JSON).read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    return report


def drifted(report: dict) -> set[str]:
    return {name for name, s in report["signals"].items() if s["drifted"]}


# ---- PSI and the signals ------------------------------------------------------------------


def test_psi_is_the_hand_computed_value():
    # training 50/50, served 90/10: 0.4 ln(0.9/0.5) + (-0.4) ln(0.1/0.5)
    assert psi([50, 50], [90, 10]) == pytest.approx(0.8788898, abs=1e-6)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.8788898, abs=1e-6)  # shares too
    assert psi([3, 1], [3, 1]) == 0
    # an empty bin counts as a share of 1e-4: (1e-4 - 0.5) ln(1e-4 / 0.5) + 0.5 ln(1 / 0.5)
    assert psi([5, 5], [10, 0]) == pytest.approx(4.6043185, abs=1e-6)


def test_logs_like_the_training_data_are_not_drift(local, tmp_path):
    local.put(f"logs/{log_key()}", gzip_lines(like_training(1000)))
    report = monitor(local, tmp_path / "out")
    assert report["sufficient_data"] and not report["drifted"]
    assert {s["status"] for s in report["signals"].values()} == {"none"}
    assert report["drift_score"] < 0.1
    assert (report["files"], report["records"], report["instances"]) == (1, 1000, 1000)
    classes = report["signals"]["predicted_class"]
    assert classes["bins"] == CLASSES and classes["training"] == [0.6, 0.3, 0.1]
    assert report["signals"]["low_confidence"]["score"] == pytest.approx(0.05, abs=0.02)
    assert "no drift" in report["message"]


@pytest.mark.parametrize(
    ("skew", "signal"),
    [
        ({"label": "alice"}, "predicted_class"),
        ({"brightness": lambda v: round(max(v["brightness"] - 0.3, 0.01), 4)}, "brightness"),
        ({"size": (640, 480)}, "image_size"),
        # 0.4 stays the top-1 of three classes (the others get 0.3 each)
        ({"score": lambda v: 0.4 if random.Random(v["brightness"]).random() < 0.5 else 0.9},
         "low_confidence"),
    ],
    ids=["one class", "much darker", "all another size", "unsure half the time"],
)  # fmt: skip
def test_a_skew_flags_its_own_signal_and_no_other(local, tmp_path, skew, signal):
    local.put(f"logs/{log_key()}", gzip_lines(like_training(1000, **skew)))
    report = monitor(local, tmp_path / "out")
    assert report["drifted"] and drifted(report) == {signal}
    assert report["signals"][signal]["status"] == "significant"
    for other in set(SIGNALS) - {signal}:
        assert report["signals"][other]["status"] == "none", other
    assert f"drift: {signal}" in report["message"]


def test_the_class_score_is_psi_of_the_shares(local, tmp_path):
    """All 200 instances predicted alice: served shares 1, 0, 0 vs training 0.6, 0.3, 0.1."""
    local.put(f"logs/{log_key()}", gzip_lines([record([instance("alice")])] * 200))
    report = monitor(local, tmp_path / "out")
    by_hand = (
        (1 - 0.6) * math.log(1 / 0.6)
        + (1e-4 - 0.3) * math.log(1e-4 / 0.3)
        + (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    )
    classes = report["signals"]["predicted_class"]
    assert classes["score"] == pytest.approx(by_hand)
    assert classes["served"] == [1.0, 0.0, 0.0] and classes["observations"] == 200


def test_the_threshold_decides_and_the_bands_describe(local, tmp_path):
    """A PSI between 0.1 and 0.25 is "moderate": drift only under a lower threshold.
    (Every instance has the same size and brightness here: only the class signal counts.)"""
    # 75 % alice instead of 60 %: 0.15 ln(1.25) + (-0.10) ln(2/3) + (-0.05) ln(0.5) ~ 0.108
    labels = ["alice"] * 150 + ["bob"] * 40 + ["carol"] * 10
    local.put(f"logs/{log_key()}", gzip_lines([record([instance(lb)]) for lb in labels]))
    by_hand = 0.15 * math.log(0.75 / 0.6) + 0.10 * math.log(0.3 / 0.2) + 0.05 * math.log(2)
    report = monitor(local, tmp_path / "a")
    classes = report["signals"]["predicted_class"]
    assert classes["score"] == pytest.approx(by_hand)
    assert (classes["status"], classes["drifted"]) == ("moderate", False)
    report = monitor(local, tmp_path / "b", psi_threshold=0.1)
    assert report["signals"]["predicted_class"]["drifted"]


def test_served_instances_are_read_as_the_schema_says():
    tally = ServedTally(CLASSES, EDGES, 0.5)
    lines = [
        # top-1 is the highest score, wherever it is listed
        {"instances": [{"top_k": [{"index": 0, "label": "alice", "score": 0.2},
                                  {"index": 2, "label": "carol", "score": 0.7}]}]},
        # no label: the index names the class; no input (a model that does not take images)
        {"instances": [{"top_k": [{"index": 1, "score": 0.45}]}]},
        # brightness null: a size but no brightness; 1.0 falls in the last bin
        {"instances": [instance("bob", brightness=None), instance("bob", brightness=1.0)]},
        # label "" (no labels.txt line): the index; a NaN score logged as null is skipped
        {"instances": [{"top_k": [{"index": 2, "label": "", "score": 0.6},
                                  {"index": 0, "label": "alice", "score": None}]}]},
        # no top_k (a model without scores), or only null scores: the image still counts
        {"instances": [{"top_k": [], "input": {"width": 7, "height": 9, "brightness": 0.05}},
                       {"top_k": [{"index": 0, "label": "alice", "score": None}],
                        "input": {"width": 7, "height": 9, "brightness": None}}]},
    ]  # fmt: skip
    for line in lines:
        tally.add_line(json.dumps(line).encode())
    assert (tally.records, tally.bad_lines) == (5, 0)
    assert (tally.instances, tally.scored, tally.bad_instances) == (7, 5, 1)
    assert tally.labels == {"carol": 2, "bob": 3}
    assert tally.sizes == {"250x250": 2, "7x9": 2}
    assert tally.brightness == [1] + [0] * 8 + [1]
    assert tally.low_confidence == 1  # the 0.45


# ---- reading: stores, window, corrupt files ------------------------------------------


@pytest.mark.parametrize("kind", ["local", "gs", "s3"])
def test_reads_logs_and_versions_from_each_store(kind, tmp_path, request):
    store = Store(kind, tmp_path, request)
    for version in (1, 2):
        publish_reference(store, "models", version)
    # version 3 is being published (no _COMPLETE): the monitor checks version 2
    store.put(f"models/{MODEL}/3/metadata.json", b"{}")
    good = like_training(300)
    store.put(f"logs/{log_key(DAY, 2, 1)}", gzip_lines(good[:100]))
    store.put(f"logs/{log_key(DAY, 2, 2)}", gzip_lines(good[100:]))
    skewed = like_training(300, label="carol", brightness=0.05)
    store.put(f"logs/{log_key(DAY, 1)}", gzip_lines(skewed))  # another version's logs
    report = monitor(store, tmp_path / "out")
    assert report["version"] == 2
    assert (report["files"], report["records"], report["instances"]) == (2, 300, 300)
    assert not report["drifted"] and report["sufficient_data"]
    report = monitor(store, tmp_path / "v1", version=1)
    assert drifted(report) == {"predicted_class", "brightness"}


def test_only_the_window_s_date_partitions_are_read(local, tmp_path):
    inside, outside = like_training(200), like_training(200, label="carol", size=(10, 10))
    for day, records in [
        (date(2026, 12, 1), outside),
        (date(2026, 12, 5), inside[:100]),
        (date(2026, 12, 7), inside[100:]),
        (date(2026, 12, 8), outside),
    ]:
        local.put(f"logs/{log_key(day)}", gzip_lines(records))  # fmt: skip
    local.put("logs/faces/1/date=2026-12-06/notes.txt", b"not a log")
    local.put("logs/faces/1/date=2026-12-06/.predictions-x.jsonl.gz.tmp-1", b"being written")
    for report in (
        monitor(local, tmp_path / "a", since=date(2026, 12, 5), until=date(2026, 12, 7)),
        monitor(local, tmp_path / "b", since=None, until=date(2026, 12, 7), days=3),
    ):
        assert report["window"] == {"since": "2026-12-05", "until": "2026-12-07"}
        assert (report["files"], report["records"], report["corrupt_files"]) == (2, 200, [])
        assert not report["drifted"]
    whole = monitor(local, tmp_path / "c", since=date(2026, 12, 1), until=date(2026, 12, 8))
    assert whole["files"] == 4 and drifted(whole) == {"predicted_class", "image_size"}


def test_window_defaults_to_the_last_days_ending_today_and_refuses_reversed_dates():
    today = datetime.now(UTC).date()
    since, until = window(None, None, 7)
    assert until == today and (until - since).days == 6
    with pytest.raises(DataError, match="starts .2026-12-08. after it ends .2026-12-01."):
        window(date(2026, 12, 8), date(2026, 12, 1), 7)


def test_corrupt_files_and_bad_lines_are_skipped_and_counted(local, tmp_path):
    good = like_training(150)
    local.put(f"logs/{log_key(n=1)}", gzip_lines(good))
    local.put(f"logs/{log_key(n=2)}", b"this was never gzip")
    truncated = gzip_lines(like_training(2000, seed=1))
    local.put(f"logs/{log_key(n=3)}", truncated[: len(truncated) // 2])
    bad = [
        "not json",
        "[1, 2]",
        '{"instances": "not a list"}',
        "",  # blank: not a request, not an error
        # three bad instances: no score, an index beyond the classes, not an object
        {"instances": [{"top_k": [{"label": "bob"}]}, {"top_k": [{"index": 7, "score": 0.9}]},
                       "not an object"]},
    ]  # fmt: skip
    local.put(f"logs/{log_key(n=4)}", gzip.compress(b"\xff\xfe\n") + gzip_lines(bad))
    report = monitor(local, tmp_path / "out")
    assert report["files"] == 4
    corrupt = {c["name"]: c["reason"] for c in report["corrupt_files"]}
    assert set(corrupt) == {f"{MODEL}/1/date=2026-12-06/predictions-20261206T120000Z-host-1-"
                            f"{n:06d}.jsonl.gz" for n in (2, 3)}  # fmt: skip
    assert all(reason.startswith("not a gzip file") for reason in corrupt.values())
    # the undecodable line and three malformed requests; the request with 3 bad instances
    # is read (it is a request) and its instances counted as bad
    assert (report["bad_lines"], report["bad_instances"]) == (4, 3)
    salvaged = report["records"] - 150 - 1  # complete lines read before the truncation
    assert 0 <= salvaged < 2000
    assert report["instances"] == 150 + salvaged + 2  # the two bad objects are instances
    assert report["signals"]["predicted_class"]["observations"] == 150 + salvaged
    assert not report["drifted"]


def test_a_file_cut_in_its_trailer_keeps_its_lines_and_is_reported(local, tmp_path):
    data = gzip_lines(like_training(120))
    local.put(f"logs/{log_key()}", data[:-4])  # the length field of the trailer is missing
    report = monitor(local, tmp_path / "out")
    assert report["records"] == 120 and len(report["corrupt_files"]) == 1


# ---- too little data, no reference --------------------------------------------------


def test_an_empty_window_is_insufficient_data_not_drift(local, tmp_path):
    local.put(f"logs/{log_key(date(2026, 11, 1))}", gzip_lines(like_training(500)))
    report = monitor(local, tmp_path / "out")
    assert (report["files"], report["instances"]) == (0, 0)
    assert not report["sufficient_data"] and not report["drifted"]
    assert {s["status"] for s in report["signals"].values()} == {"insufficient_data"}
    assert {s["score"] for s in report["signals"].values()} == {None}
    assert report["message"].startswith("insufficient data, not drift: 0 instances")
    _assert_png(tmp_path / "out" / REPORT_PNG)


def test_fewer_than_min_instances_is_not_drift_however_skewed(local, tmp_path):
    skewed = like_training(50, label="carol", size=(9, 9), brightness=0.99, score=0.4)
    local.put(f"logs/{log_key()}", gzip_lines(skewed))
    report = monitor(local, tmp_path / "a")
    assert not report["sufficient_data"] and not report["drifted"]
    for signal in report["signals"].values():  # computed, but not trusted
        assert signal["score"] > 0.9 and signal["status"] == "insufficient_data"
    assert drifted(monitor(local, tmp_path / "b", min_instances=50)) == set(SIGNALS)


def test_a_version_without_data_stats_is_a_clear_error(tmp_path, request):
    store = Store("local", tmp_path, request)
    publish_reference(store, "models", stats=None)
    with pytest.raises(DataError) as err:
        monitor(store, tmp_path / "out")
    message = str(err.value)
    assert message.startswith(f"{store.uri}/models/{MODEL}/1/metadata.json has no data_stats")
    assert "published before drift monitoring" in message
    assert "train_when_drift_above=0" in message
    with pytest.raises(DataError, match=r"version 5 of faces is not published .*versions: 1\)"):
        monitor(store, tmp_path / "out", version=5)
    publish_reference(store, "models", 2, stats={**DATA_STATS, "brightness": {"edges": [0, 1]}})
    with pytest.raises(DataError, match="2/metadata.json: data_stats.brightness is missing or"):
        monitor(store, tmp_path / "out")


def test_the_report_png_is_a_png_with_one_panel_per_signal(local, tmp_path):
    local.put(f"logs/{log_key()}", gzip_lines(like_training(300, label="bob")))
    monitor(local, tmp_path / "out")
    image = _assert_png(tmp_path / "out" / REPORT_PNG)
    assert image.width > 3 * image.height  # four panels side by side


def _assert_png(path: Path) -> Image.Image:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    Image.open(io.BytesIO(data)).verify()
    return Image.open(io.BytesIO(data))


# ---- the training side: brightness in prepare, data_stats in publish -----------------


def _solid_png(rgb: tuple[int, int, int] | int, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (8, 6), rgb).save(buf, format="PNG")
    return buf.getvalue()


def test_brightness_is_the_mean_luma_of_known_colours():
    # (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255 = 124.2 / 255
    assert mean_luma(_solid_png((200, 100, 50))) == pytest.approx(0.4870588, abs=1e-6)
    assert mean_luma(_solid_png(51, mode="L")) == pytest.approx(0.2)  # gray: the value / 255
    half = np.zeros((4, 4, 3), dtype=np.uint8)
    half[:2] = (0, 0, 255)  # half blue: 0.114 * 255 / 255 / 2
    buf = io.BytesIO()
    Image.fromarray(half).save(buf, format="PNG")
    assert mean_luma(buf.getvalue()) == pytest.approx(0.057, abs=1e-9)
    # 16-bit gray 40000: its top 8 bits, 40000 >> 8 = 156, as Go reduces it (PIL would clip)
    buf = io.BytesIO()
    Image.fromarray(np.full((3, 5), 40000, dtype=np.uint16)).save(buf, format="PNG")
    assert mean_luma(buf.getvalue()) == pytest.approx(156 / 255)


# Per class, five solid images whose luma (by hand) is well inside a bin.
COLOURS = {
    "red": [(200, 100, 50), (250, 20, 20), (120, 0, 0), (255, 60, 60), (90, 30, 30)],
    "blue": [(20, 20, 250), (0, 0, 120), (60, 60, 255), (30, 30, 90), (10, 200, 250)],
}


def _luma(rgb: tuple[int, int, int]) -> float:
    r, g, b = rgb
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255


def test_prepare_records_the_train_split_brightness_and_publish_carries_it(tmp_path):
    for label, colours in COLOURS.items():
        (tmp_path / "data" / label).mkdir(parents=True)
        for i, rgb in enumerate(colours):
            (tmp_path / "data" / label / f"{i}.png").write_bytes(_solid_png(rgb))
    split = prepare_dataset(str(tmp_path / "data"), tmp_path / "split", min_images_per_class=3)
    paths, labels, classes = read_split(tmp_path / "split", "train")
    expected = [0] * 10
    for path, label in zip(paths, labels, strict=True):
        luma = _luma(COLOURS[classes[label]][int(Path(path).stem)])
        expected[int(luma * 10)] += 1
    assert len(paths) == 6  # 3 of each class's 5 (1 val, 1 test)
    assert split.brightness == {"edges": EDGES, "counts": expected}
    stats = json.loads((tmp_path / "split" / "stats.json").read_text())
    assert stats["brightness"] == {"edges": EDGES, "counts": expected}
    assert data_stats(classes, stats) == {
        "classes": ["blue", "red"],
        "train_counts": {"blue": 3, "red": 3},
        "image_sizes": {"8x6": 10},
        "brightness": {"edges": EDGES, "counts": expected},
    }


def test_a_published_version_is_its_own_reference(trained_dir, split_dir, tmp_path, request):
    """Export publishes data_stats; logs of the split's own training images are no drift,
    the same images much darker are brightness drift."""
    from components.export.publish import export_and_publish

    store = Store("local", tmp_path, request)
    export_and_publish(trained_dir, split_dir, f"{store.uri}/models", MODEL, {})
    metadata = json.loads((store.root / "models" / MODEL / "1" / "metadata.json").read_text())
    assert metadata["data_stats"]["train_counts"] == {"face": 9, "nonface": 9}
    assert sum(metadata["data_stats"]["brightness"]["counts"]) == 18
    paths, labels, classes = read_split(split_dir, "train")
    served = {"same": [], "darker": []}
    for path, label in zip(paths * 10, labels * 10, strict=True):
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.float64)
            size = img.size
        luma = float((pixels @ [0.299, 0.587, 0.114]).mean() / 255)
        for kind, value in (("same", luma), ("darker", luma / 4)):
            top = [{"index": label, "label": classes[label], "score": 0.8},
                   {"index": 1 - label, "label": classes[1 - label], "score": 0.2}]  # fmt: skip
            served[kind].append(
                record([{"top_k": top, "input": {"format": "jpeg", "width": size[0],
                                                 "height": size[1], "brightness": value}}])
            )  # fmt: skip
    for kind, records in served.items():
        store.put(f"logs/{kind}/{log_key()}", gzip_lines(records))
    out = tmp_path / "out"
    same = monitor_drift(f"{store.uri}/logs/same", f"{store.uri}/models", MODEL, out,
                         since=DAY, until=DAY)  # fmt: skip
    assert same.instances == 180 and not same.drifted
    assert same.signals["brightness"].score == pytest.approx(0, abs=1e-9)
    darker = monitor_drift(f"{store.uri}/logs/darker", f"{store.uri}/models", MODEL, out,
                           since=DAY, until=DAY)  # fmt: skip
    assert {n for n, s in darker.signals.items() if s.drifted} == {"brightness"}


# ---- the pipeline's decision, the CLI, the pipeline --------------------------------------


def test_training_decision(local, tmp_path):
    off = training_decision(0.0, "", f"{local.uri}/models", MODEL, tmp_path / "off")
    assert off.train and off.report is None and "monitoring is off" in off.reason
    assert json.loads((tmp_path / "off" / "decision.json").read_text())["train"] is True
    first = training_decision(0.25, "/logs", str(tmp_path / "empty"), MODEL, tmp_path / "first")
    assert first.train and "no version of faces is published yet" in first.reason
    with pytest.raises(DataError, match="needs prediction_log_uri"):
        training_decision(0.25, "", f"{local.uri}/models", MODEL, tmp_path / "x")
    today = datetime.now(UTC).date()
    local.put(f"logs/{log_key(today)}", gzip_lines(like_training(300)))
    quiet = training_decision(0.25, f"{local.uri}/logs", f"{local.uri}/models", MODEL,
                              tmp_path / "quiet")  # fmt: skip
    assert not quiet.train and quiet.reason.endswith(": not training")
    local.put(f"logs/{log_key(today, n=2)}", gzip_lines(like_training(3000, label="bob")))
    drift = training_decision(0.25, f"{local.uri}/logs", f"{local.uri}/models", MODEL,
                              tmp_path / "drift")  # fmt: skip
    assert drift.train and drift.reason.startswith("drift: predicted_class")
    assert (tmp_path / "drift" / REPORT_JSON).is_file()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.monitor", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cli_exits_3_on_drift_and_0_without(local, tmp_path):
    common = ["--model-base-uri", f"{local.uri}/models", "--model-name", MODEL,
              "--since", DAY.isoformat(), "--until", DAY.isoformat()]  # fmt: skip
    local.put(f"logs/a/{log_key()}", gzip_lines(like_training(300)))
    local.put(f"logs/b/{log_key()}", gzip_lines(like_training(300, size=(64, 64))))
    proc = _cli("--log-uri", f"{local.uri}/logs/a", "--out-dir", str(tmp_path / "a"), *common)
    assert proc.returncode == 0, proc.stderr
    assert "monitor: no drift: largest PSI" in proc.stdout
    proc = _cli("--log-uri", f"{local.uri}/logs/b", "--out-dir", str(tmp_path / "b"), *common)
    assert proc.returncode == 3, proc.stderr
    assert "monitor: drift: image_size" in proc.stdout
    report = json.loads((tmp_path / "b" / REPORT_JSON).read_text())
    jsonschema.validate(report, REPORT_SCHEMA)


def _class_folders(root: Path) -> Path:
    for label, colours in COLOURS.items():
        (root / label).mkdir(parents=True)
        for i, rgb in enumerate(colours):
            (root / label / f"{i}.png").write_bytes(_solid_png(rgb))
    (root / "red" / "zz-corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


@pytest.mark.parametrize("drift", [False, True], ids=["no drift", "drift"])
def test_pipeline_trains_only_when_the_monitor_sees_drift(drift, local, tmp_path):
    """kfp.local, with train_when_drift_above set: without drift the monitor is the only step
    that runs; with drift the gated steps start (the dataset holds a corrupt image, so
    prepare fails at once instead of training). kfp.local's decision is cel-go's."""
    today = datetime.now(UTC).date()
    skew = {"brightness": 0.97} if drift else {}
    local.put(f"logs/{log_key(today)}", gzip_lines(like_training(300, **skew)))
    arguments = dict(
        data_uri=str(_class_folders(tmp_path / "data")),
        model_base_uri=f"{local.uri}/models",
        model_name=MODEL,
        train_when_drift_above=0.25,
        prediction_log_uri=f"{local.uri}/logs",
    )
    failure = None
    try:
        run_local(tmp_path / "root", **arguments)
    except RuntimeError as err:
        failure = str(err)
    (run,) = [d for d in (tmp_path / "root").iterdir() if d.is_dir()]
    outputs = json.loads((run / "monitor-op" / "executor_output.json").read_text())
    train = outputs["parameterValues"]["train"]
    assert train is drift and outputs["parameterValues"]["drifted"] is drift
    prepared = (run / "prepare-op").exists() or (failure is not None and "prepare-op" in failure)
    assert prepared is drift and not (run / "train-op").exists()
    if drift:
        assert failure is not None and "prepare-op" in failure
    else:
        assert failure is None, failure
    report = json.loads((run / "monitor-op" / "report" / REPORT_JSON).read_text())
    assert report["drifted"] is drift and report["instances"] == 300

    spec_file = tmp_path / "compiled.yaml"
    compiler.Compiler().compile(training_pipeline, str(spec_file))
    spec = next(yaml.safe_load_all(spec_file.read_text()))
    drift_gate = {"drift-gate": gates(spec)["drift-gate"]}
    cel = runs(drift_gate, pipeline_parameters(spec, **arguments), {("monitor-op", "train"): train})
    assert cel == {"drift-gate": prepared}
