"""The whole pipeline through kfp.local on a tiny real LFW subset, then served by Go."""

import json

import numpy as np
import pytest
from conftest import make_class_folders

from components.imaging import decode_batch
from components.storage import COMPLETE_MARKER, list_versions
from components.train.train import load_trained
from pipelines.local import run_local
from pipelines.predictor_process import LocalPredictor


@pytest.fixture(scope="module")
def tiny_data(lfw_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return make_class_folders(root / "data", {"face": 12, "nonface": 12}, lfw_dir / "train")


def _run(tmp, data, **overrides):
    arguments = dict(
        data_uri=str(data),
        model_base_uri=str(tmp / "models"),
        model_name="faces",
        backbone="small_cnn",
        weights="none",
        epochs=3,
        batch_size=8,
        image_size=32,
        min_accuracy=0.0,
    )
    run_local(tmp / "root", **{**arguments, **overrides})
    return tmp / "models" / "faces"


@pytest.fixture(scope="module")
def published(tiny_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    return tmp, _run(tmp, tiny_data)


def test_pipeline_publishes_version_1_in_the_serving_layout(published):
    _, model_dir = published
    assert list_versions(str(model_dir.parent), "faces") == [1]
    version = model_dir / "1"
    for name in ("saved_model.pb", "variables/variables.index", "metadata.json", COMPLETE_MARKER):
        assert (version / name).is_file(), name
    assert (version / "assets" / "labels.txt").read_text().split() == ["face", "nonface"]
    metadata = json.loads((version / "metadata.json").read_text())
    assert metadata["training"]["epochs"] == 3
    assert metadata["data_counts"]["train"] == {"face": 10, "nonface": 10}
    assert len(metadata["data_fingerprint"]) == 64
    listed = json.loads((version / COMPLETE_MARKER).read_text())["files"]
    assert listed["saved_model.pb"] == (version / "saved_model.pb").stat().st_size
    assert [p.name for p in model_dir.iterdir()] == ["1"]  # no staging leftovers


def test_go_predictor_matches_keras_on_the_pipeline_model(published, lfw_dir, predictor_binary):
    tmp, model_dir = published
    (trained,) = (tmp / "root").glob("*/train-op/model")
    model, classes, params = load_trained(trained)
    files = sorted((lfw_dir / "holdout").glob("*/*.jpg"))[::4]
    encoded = [f.read_bytes() for f in files]
    expected = model.predict(decode_batch(np.array(encoded, dtype=object), params.image_size))
    with LocalPredictor(model_dir, "faces", binary=predictor_binary) as predictor:
        predictions = predictor.predict(encoded)
    served = np.array([p["probabilities"] for p in predictions])
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)
    assert [p["label"] for p in predictions] == [classes[i] for i in expected.argmax(axis=1)]


def test_failed_gate_skips_publishing_and_says_why(tiny_data, tmp_path, capsys):
    _run(tmp_path, tiny_data, min_accuracy=1.01)
    assert "is below the minimum 1.01" in capsys.readouterr().out
    assert list_versions(str(tmp_path / "models"), "faces") == []
    assert not list((tmp_path / "root").glob("*/export-op"))
    assert not (tmp_path / "models" / "faces").exists()


def test_pipeline_reads_and_publishes_gs_uris(gcs, tiny_data, tmp_path):
    bucket = gcs.create_bucket("pipeline-gs")
    for image in tiny_data.glob("*/*.jpg"):
        bucket.blob(f"datasets/faces/{image.parent.name}/{image.name}").upload_from_filename(image)
    _run(tmp_path, "gs://pipeline-gs/datasets/faces", model_base_uri="gs://pipeline-gs/models")
    assert list_versions("gs://pipeline-gs/models", "faces") == [1]
    labels = bucket.blob("models/faces/1/assets/labels.txt").download_as_text()
    assert labels.split() == ["face", "nonface"]
