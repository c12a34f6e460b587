"""The whole pipeline through kfp.local on a tiny real LFW subset, then served by Go."""

import json

import pytest
from conftest import TINY_TRAINING, assert_serves_as_trained

from components.storage import COMPLETE_MARKER, list_versions
from pipelines.local import run_local
from pipelines.predictor_process import LocalPredictor


def _run(tmp, data, **overrides):
    arguments = dict(data_uri=str(data), model_base_uri=str(tmp / "models"), **TINY_TRAINING)
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
    with LocalPredictor(model_dir, "faces", binary=predictor_binary) as predictor:
        assert_serves_as_trained(predictor, tmp / "root", lfw_dir / "holdout")


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
