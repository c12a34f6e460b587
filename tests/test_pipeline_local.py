"""The whole pipeline through kfp.local on a tiny real LFW subset, then served by Go."""

import json

import pytest
import yaml
from conftest import TINY_TRAINING, assert_serves_as_trained
from kfp import compiler
from kfp_conditions import gates, pipeline_parameters, runs

from components.storage import COMPLETE_MARKER, list_versions
from pipelines.local import run_local
from pipelines.predictor_process import LocalPredictor
from pipelines.training import training_pipeline


def _run(tmp, data, **overrides):
    arguments = {
        **dict(data_uri=str(data), model_base_uri=str(tmp / "models"), **TINY_TRAINING),
        **overrides,
    }
    failure = None
    try:
        run_local(tmp / "root", **arguments)
    except RuntimeError as err:
        failure = str(err)
    _assert_gates_decided_as_cel(tmp / "root", arguments, failure)
    if failure:
        raise RuntimeError(failure)
    return tmp / "models" / "faces"


def _assert_gates_decided_as_cel(root, arguments: dict, failure: str | None) -> None:
    """kfp.local's decision in this run (which gated steps ran) is cel-go's on the values
    the run produced, bound as the KFP backend's driver binds them (tests/kfp_conditions)."""
    (run,) = [d for d in root.iterdir() if d.is_dir()]

    def output(task: str, key: str, default: object = None) -> object:
        path = run / task / "executor_output.json"
        return json.loads(path.read_text())["parameterValues"][key] if path.exists() else default

    def ran(task: str) -> bool:
        return (run / task).is_dir() or (failure is not None and f"'{task}'" in failure)

    spec_file = root.parent / "compiled.yaml"
    compiler.Compiler().compile(training_pipeline, str(spec_file))
    spec = next(yaml.safe_load_all(spec_file.read_text()))
    outputs = {
        ("evaluate-op", "passed"): output("evaluate-op", "passed"),
        ("export-op", "version"): output("export-op", "version", 0),
    }
    cel = runs(gates(spec), pipeline_parameters(spec, **arguments), outputs)
    local = {"accuracy-gate": ran("export-op"), "deploy-enabled": ran("deploy-op")}
    assert local == cel, f"kfp.local ran {local}, CEL decides {cel}"


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


def test_a_deploy_namespace_runs_the_deploy_step(tiny_data, tmp_path, monkeypatch):
    """The inner gate under kfp.local and CEL: with a namespace the deploy step runs (and,
    with no cluster to reach, fails the run) after publishing."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-cluster"))
    with pytest.raises(RuntimeError, match="deploy-op"):
        _run(tmp_path, tiny_data, deploy_namespace="imgclf-gate-test")
    assert list_versions(str(tmp_path / "models"), "faces") == [1]


def test_pipeline_reads_and_publishes_gs_uris(gcs, tiny_data, tmp_path):
    bucket = gcs.create_bucket("pipeline-gs")
    for image in tiny_data.glob("*/*.jpg"):
        bucket.blob(f"datasets/faces/{image.parent.name}/{image.name}").upload_from_filename(image)
    _run(tmp_path, "gs://pipeline-gs/datasets/faces", model_base_uri="gs://pipeline-gs/models")
    assert list_versions("gs://pipeline-gs/models", "faces") == [1]
    labels = bucket.blob("models/faces/1/assets/labels.txt").download_as_text()
    assert labels.split() == ["face", "nonface"]
