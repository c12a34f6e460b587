"""The whole pipeline through kfp.local on a tiny real LFW subset, then served by Go."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import TINY_TRAINING, assert_serves_as_trained
from kfp import compiler
from kfp_conditions import gates, pipeline_parameters, runs

from components.errors import StepError
from components.storage import COMPLETE_MARKER, list_versions
from pipelines.local import run_local
from pipelines.predictor_process import LocalPredictor
from pipelines.training import training_pipeline

NAMESPACE = "imgclf-gate-test"


@dataclass(frozen=True)
class LocalRun:
    """A finished kfp.local run: ``tmp/root`` is its pipeline root, ``tmp/models`` its model
    base (unless ``arguments`` name another); ``failure`` is kfp.local's error, if a task failed."""

    tmp: Path
    arguments: dict[str, object]
    failure: str | None

    @property
    def root(self) -> Path:
        return self.tmp / "root"

    @property
    def models(self) -> Path:
        return self.tmp / "models"

    def executor_output(self, task: str) -> dict | None:
        (run,) = [d for d in self.root.iterdir() if d.is_dir()]
        path = run / task / "executor_output.json"
        return json.loads(path.read_text()) if path.exists() else None

    def output(self, task: str, key: str, default: object = None) -> object:
        """A parameter output of ``task``, or ``default`` when the task did not run."""
        written = self.executor_output(task)
        return written["parameterValues"][key] if written else default

    def ran(self, task: str) -> bool:
        """Whether kfp.local started ``task``: it has a folder, or it failed the run."""
        started = any(self.root.glob(f"*/{task}"))
        return started or (self.failure is not None and f"'{task}'" in self.failure)


def _run(tmp: Path, data, **overrides) -> LocalRun:
    arguments = {
        **dict(data_uri=str(data), model_base_uri=str(tmp / "models"), **TINY_TRAINING),
        **overrides,
    }
    failure = None
    try:
        run_local(tmp / "root", **arguments)
    except RuntimeError as err:
        failure = str(err)
    run = LocalRun(tmp, arguments, failure)
    _assert_gates_decided_as_cel(run)
    return run


def _assert_gates_decided_as_cel(run: LocalRun) -> None:
    """kfp.local's decision in this run (which gated steps ran) is cel-go's on the values
    the run produced, bound as the KFP backend's driver binds them (tests/kfp_conditions)."""
    spec_file = run.tmp / "compiled.yaml"
    compiler.Compiler().compile(training_pipeline, str(spec_file))
    spec = next(yaml.safe_load_all(spec_file.read_text()))
    outputs = {
        ("monitor-op", "train"): run.output("monitor-op", "train"),
        ("evaluate-op", "passed"): run.output("evaluate-op", "passed"),
        ("export-op", "version"): run.output("export-op", "version", 0),
    }
    cel = runs(gates(spec), pipeline_parameters(spec, **run.arguments), outputs)
    local = {
        "drift-gate": run.ran("prepare-op"),
        "accuracy-gate": run.ran("export-op"),
        "deploy-enabled": run.ran("deploy-op"),
    }
    assert local == cel, f"kfp.local ran {local}, CEL decides {cel}"


@pytest.fixture(scope="module")
def published(tiny_data, tmp_path_factory) -> LocalRun:
    """The run the serving tests share: min_accuracy 0.0, no deploy namespace."""
    run = _run(tmp_path_factory.mktemp("run"), tiny_data)
    assert run.failure is None, run.failure
    return run


def test_pipeline_publishes_version_1_in_the_serving_layout(published):
    model_dir = published.models / "faces"
    assert list_versions(str(published.models), "faces") == [1]
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


def test_training_state_went_under_the_model_base_and_is_gone(published):
    """No checkpoint_uri given: the train step mirrored its state to
    <model_base_uri>/.checkpoints/<model_name>/<the run's job id>, and removed it on success."""
    (model,) = published.executor_output("train-op")["artifacts"]["model"]["artifacts"]
    checkpoints = Path(model["metadata"]["checkpoint_uri"])
    run_id = checkpoints.name
    assert checkpoints == published.models / ".checkpoints" / "faces" / run_id
    assert run_id and "{{" not in run_id  # kfp.local filled in the job id placeholder
    assert checkpoints.is_dir()  # the state was written there: its folders stay, empty
    assert [p for p in (published.models / ".checkpoints").rglob("*") if p.is_file()] == []


def test_go_predictor_matches_keras_on_the_pipeline_model(published, lfw_dir, predictor_binary):
    with LocalPredictor(published.models / "faces", "faces", binary=predictor_binary) as predictor:
        assert_serves_as_trained(predictor, published.root, lfw_dir / "holdout")


# Every case of the two gates, as a real run: the evaluation above, below or exactly at
# min_accuracy, with and without a deploy namespace. The seeded tiny training scores the
# same accuracy in every run on CPU, so min_accuracy set to what the shared run scored puts
# a run exactly at the minimum (the test checks that it did). The gates see only the
# evaluation's `passed` and the namespace, so "above, a namespace" is decided as "at, a
# namespace" and "at, no namespace" as "above, no namespace": four runs cover the six cases.
GATE_CASES = [
    # the shared run: publishes; deploy's condition is false
    pytest.param("above", "", True, False, id="above the minimum, no namespace"),
    # neither gated step runs
    pytest.param("below", "", False, False, id="below the minimum, no namespace"),
    # deploy's own condition is true, but it sits inside the closed accuracy gate
    pytest.param("below", NAMESPACE, False, False, id="below the minimum, a namespace"),
    # the boundary passes: publishes, then deploys (and fails: there is no cluster to reach)
    pytest.param("at", NAMESPACE, True, True, id="at the minimum, a namespace"),
]


@pytest.mark.parametrize(("accuracy", "namespace", "publishes", "deploys"), GATE_CASES)
def test_kfp_local_decides_each_gate_case_as_cel_does(
    accuracy, namespace, publishes, deploys, published, tiny_data, tmp_path, monkeypatch
):
    """Each run's decisions equal cel-go's on its values (checked in _run) and the case's."""
    if (accuracy, namespace) == ("above", ""):
        run = published
    else:
        # No cluster credentials, in-cluster or kubeconfig: a deploy step fails, after publishing.
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-cluster"))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        minimum = {"below": 1.01, "at": published.output("evaluate-op", "accuracy")}[accuracy]
        run = _run(tmp_path, tiny_data, min_accuracy=minimum, deploy_namespace=namespace)
    scored, minimum = run.output("evaluate-op", "accuracy"), run.arguments["min_accuracy"]
    relation = "above" if scored > minimum else "below" if scored < minimum else "at"
    assert relation == accuracy, f"accuracy {scored}, min_accuracy {minimum}"
    says = f"clears the minimum {minimum}" if publishes else f"is below the minimum {minimum}"
    assert says in run.output("evaluate-op", "reason")
    assert {"export-op": run.ran("export-op"), "deploy-op": run.ran("deploy-op")} == {
        "export-op": publishes,
        "deploy-op": deploys,
    }
    assert list_versions(str(run.models), "faces") == ([1] if publishes else [])
    assert (run.models / "faces").exists() == publishes
    if deploys:
        assert run.failure is not None and "deploy-op" in run.failure
    else:
        assert run.failure is None, run.failure


def test_run_local_refuses_an_unknown_parameter_before_anything_runs(tiny_data, tmp_path):
    root, models = tmp_path / "root", tmp_path / "models"
    with pytest.raises(StepError) as err:
        run_local(root, data_uri=str(tiny_data), model_base_uri=str(models), epoch=3)
    assert str(err.value).startswith("unknown pipeline parameter 'epoch'; the pipeline takes ")
    assert "epochs" in str(err.value)
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "run-local", "--pipeline-root", str(root),
         "--data-uri", str(tiny_data), "--model-base-uri", str(models), "--epoch", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "unrecognized arguments: --epoch 3" in proc.stderr
    assert not root.exists() and not models.exists()


def test_pipeline_reads_and_publishes_object_store_uris(remote, tiny_data, tmp_path):
    bucket = remote.new_bucket("pipeline")
    root = f"{remote.scheme}://{bucket}"
    for image in tiny_data.glob("*/*.jpg"):
        remote.upload(bucket, f"datasets/faces/{image.parent.name}/{image.name}", image)
    run = _run(tmp_path, f"{root}/datasets/faces", model_base_uri=f"{root}/models")
    assert run.failure is None, run.failure
    assert list_versions(f"{root}/models", "faces") == [1]
    labels = remote.read(bucket, "models/faces/1/assets/labels.txt").decode()
    assert labels.split() == ["face", "nonface"]
    (model,) = run.executor_output("train-op")["artifacts"]["model"]["artifacts"]
    assert model["metadata"]["checkpoint_uri"].startswith(f"{root}/models/.checkpoints/")
    assert not {k for k in remote.keys(bucket) if k.startswith("models/.checkpoints/")}
