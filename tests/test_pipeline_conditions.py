"""The pipeline's gates decided by cel-go, the KFP backend's CEL engine, bound as its
driver binds them (tests/kfp_conditions.py), for every case the README promises; and
the check that kfp.local still needs pipelines/kfp_local_conditions.py.
tests/test_pipeline_local.py compares kfp.local's decisions in real runs with CEL's."""

import itertools

import pytest
import yaml
from kfp import compiler
from kfp.local import io
from kfp.local.orchestrator.enhanced_dag_orchestrator import ConditionEvaluator
from kfp_conditions import gates, pipeline_parameters, runs

from components.evaluate.evaluate import gate as accuracy_gate
from components.monitor.drift import training_decision
from pipelines import kfp_local_conditions
from pipelines.training import training_pipeline

MIN_ACCURACY = 0.8
ACCURACIES = {"above the minimum": 0.9, "below the minimum": 0.7, "exactly at the minimum": 0.8}
# The monitor step's `train` output: the default (monitoring off) is decided by the real
# function below; drifted / no drift are the monitor's verdicts (tests/test_monitor.py).
MONITOR = {"monitor off": None, "drifted": True, "no drift": False}


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("conditions") / "pipeline.yaml"
    compiler.Compiler().compile(training_pipeline, str(out))
    return next(yaml.safe_load_all(out.read_text()))


def test_the_gates_and_what_they_are_bound_to(spec):
    found = gates(spec)
    assert set(found) == {"drift-gate", "accuracy-gate", "deploy-enabled"}
    drift, gate, deploy = found["drift-gate"], found["accuracy-gate"], found["deploy-enabled"]
    assert drift.inside == ()
    assert gate.inside == ("drift-gate",) and deploy.inside == ("drift-gate", "accuracy-gate")
    train = "pipelinechannel--monitor-op-train"
    assert train in drift.condition
    assert drift.bindings[train] == ("output", "monitor-op", "train")
    passed = "pipelinechannel--evaluate-op-passed"
    assert passed in gate.condition
    assert gate.bindings[passed] == ("output", "evaluate-op", "passed")
    namespace = "pipelinechannel--deploy_namespace"
    assert namespace in deploy.condition
    assert deploy.bindings[namespace] == ("parameter", "deploy_namespace")


@pytest.mark.parametrize(
    ("monitor", "accuracy", "namespace"), itertools.product(MONITOR, ACCURACIES, ["", "imgclf"])
)  # fmt: skip
def test_cel_trains_on_drift_publishes_on_a_pass_and_deploys_only_with_a_namespace(
    spec, monitor, accuracy, namespace, tmp_path
):
    if monitor == "monitor off":  # the pipeline's default train_when_drift_above
        threshold = pipeline_parameters(spec)["train_when_drift_above"]
        decision = training_decision(threshold, "", str(tmp_path / "models"), "faces", tmp_path)
        train, arguments = decision.train, {}
    else:
        train = MONITOR[monitor]
        arguments = {"train_when_drift_above": 0.25, "prediction_log_uri": "/logs"}
    passed, _ = accuracy_gate(ACCURACIES[accuracy], 16, MIN_ACCURACY, 0.02, None)
    parameters = pipeline_parameters(
        spec, data_uri="/data", model_base_uri="/models", deploy_namespace=namespace, **arguments
    )
    outputs = {
        ("monitor-op", "train"): train,
        ("evaluate-op", "passed"): passed,
        ("export-op", "version"): 1,
    }
    decided = runs(gates(spec), parameters, outputs)
    trains = monitor != "no drift"
    publishes = trains and accuracy != "below the minimum"
    assert decided == {
        "drift-gate": trains,
        "accuracy-gate": publishes,
        "deploy-enabled": publishes and namespace != "",
    }


def test_kfp_local_still_cannot_resolve_a_named_task_output(spec):
    """kfp 2.17.3's own evaluator looks ``evaluate-op-passed`` up as a pipeline input and
    decides False. When this fails, kfp resolves named outputs itself: delete
    pipelines/kfp_local_conditions.py and its install() calls."""
    condition = gates(spec)["accuracy-gate"].condition
    store = io.IOStore()
    store.put_task_output("evaluate-op", "passed", True)
    try:
        ConditionEvaluator._resolve_pipeline_channel = staticmethod(
            kfp_local_conditions.upstream_resolve
        )
        assert ConditionEvaluator.evaluate_condition(condition, store) is False
        kfp_local_conditions.install()
        assert ConditionEvaluator.evaluate_condition(condition, store) is True
    finally:
        kfp_local_conditions.install()
