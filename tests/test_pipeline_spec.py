"""The compiled pipeline (KFP IR YAML)."""

import subprocess
import sys

import pytest
import yaml


def _compile(out, *flags: str) -> tuple[dict, dict]:
    """``python -m pipelines compile``: (pipeline spec, Kubernetes platform spec)."""
    command = [sys.executable, "-m", "pipelines", "compile", "--output", str(out), *flags]
    subprocess.run(command, check=True)
    pipeline, platform = yaml.safe_load_all(out.read_text())
    return pipeline, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return _compile(tmp_path_factory.mktemp("spec") / "pipeline.yaml")


@pytest.fixture(scope="module")
def spec(compiled):
    return compiled[0]


def test_components_and_parameters(spec):
    executors = spec["deploymentSpec"]["executors"]
    assert set(executors) == {
        f"exec-{s}-op" for s in ("monitor", "prepare", "train", "evaluate", "export", "deploy")
    }
    for executor in executors.values():
        assert executor["container"]["image"].startswith("ghcr.io/imgclf/trainer:")
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    for name in ("data_uri", "model_base_uri", "model_name", "backbone", "weights", "epochs",
                 "batch_size", "learning_rate", "fine_tune_learning_rate", "gpu_count",
                 "gpu_type", "max_regression", "deploy_namespace", "deploy_name"):  # fmt: skip
        assert name in parameters, name
    assert parameters["backbone"]["defaultValue"] == "resnet50"
    # Drift monitoring is off by default: the monitor step then always says "train".
    assert parameters["train_when_drift_above"] == {
        "defaultValue": 0.0, "isOptional": True, "parameterType": "NUMBER_DOUBLE"
    }  # fmt: skip
    assert parameters["prediction_log_uri"]["defaultValue"] == ""
    assert parameters["drift_window_days"]["defaultValue"] == 7


def test_training_requests_gpus_and_every_step_requests_cpu_and_memory(spec):
    executors = spec["deploymentSpec"]["executors"]
    train = executors["exec-train-op"]["container"]["resources"]
    assert train["accelerator"] == {
        "resourceCount": "{{$.inputs.parameters['pipelinechannel--gpu_count']}}",
        "resourceType": "{{$.inputs.parameters['pipelinechannel--gpu_type']}}",
    }
    # ... which the train task takes from the pipeline's own gpu_count and gpu_type, through
    # the drift gate's sub-DAG (kfp 2.17 passes them only because the pipeline registers
    # them: without that, the gate's DAG would not have these inputs at all).
    inputs = _tasks(spec)["train-op"]["inputs"]["parameters"]
    gate = spec["root"]["dag"]["tasks"]["condition-1"]
    assert gate["taskInfo"]["name"] == "drift-gate"
    gate_inputs = spec["components"][gate["componentRef"]["name"]]["inputDefinitions"]
    for name in ("gpu_count", "gpu_type"):
        channel = f"pipelinechannel--{name}"
        assert inputs[channel] == {"componentInputParameter": channel}
        assert channel in gate_inputs["parameters"]
        assert gate["inputs"]["parameters"][channel] == {"componentInputParameter": name}
    requests = {
        name.removeprefix("exec-").removesuffix("-op"): (
            e["container"]["resources"]["resourceCpuRequest"],
            e["container"]["resources"]["resourceMemoryRequest"],
        )
        for name, e in executors.items()
    }
    assert requests == {
        "monitor": ("1", "2G"), "prepare": ("1", "2G"), "train": ("4", "16G"),
        "evaluate": ("2", "8G"), "export": ("1", "4G"), "deploy": ("100m", "512M"),
    }  # fmt: skip


def test_drift_gate_gate_and_deploy_conditions(spec):
    def by_display_name(tasks: dict) -> dict:
        return {t["taskInfo"]["name"]: t for t in tasks.values()}

    # The monitor runs first, on its own; every other step sits inside the drift gate.
    root = spec["root"]["dag"]["tasks"]
    assert set(by_display_name(root)) == {"monitor-op", "drift-gate"}
    monitor = root["monitor-op"]["inputs"]["parameters"]
    assert monitor["train_when_drift_above"] == {
        "componentInputParameter": "train_when_drift_above"
    }
    assert monitor["prediction_log_uri"] == {"componentInputParameter": "prediction_log_uri"}
    assert monitor["window_days"] == {"componentInputParameter": "drift_window_days"}
    drift = by_display_name(root)["drift-gate"]
    assert "monitor-op-train" in drift["triggerPolicy"]["condition"]
    assert drift["dependentTasks"] == ["monitor-op"]
    drift_dag = spec["components"][drift["componentRef"]["name"]]["dag"]["tasks"]
    assert {"prepare-op", "train-op", "evaluate-op"} <= set(drift_dag)
    outputs = spec["components"]["comp-monitor-op"]["outputDefinitions"]
    assert outputs["parameters"]["train"] == {"parameterType": "BOOLEAN"}
    assert set(outputs["artifacts"]) == {"metrics", "report"}

    gate = by_display_name(drift_dag)["accuracy-gate"]
    assert "evaluate-op-passed" in gate["triggerPolicy"]["condition"]
    gate_dag = spec["components"][gate["componentRef"]["name"]]["dag"]["tasks"]
    assert "export-op" in gate_dag
    deploy = by_display_name(gate_dag)["deploy-enabled"]
    assert "deploy_namespace" in deploy["triggerPolicy"]["condition"]
    deploy_dag = spec["components"][deploy["componentRef"]["name"]]["dag"]["tasks"]
    assert "deploy-op" in deploy_dag


def _tasks(spec: dict) -> dict[str, dict]:
    """Every task of the pipeline, inside conditions too, by task name."""
    dags = [spec["root"], *(c for c in spec["components"].values() if "dag" in c)]
    return {name: t for dag in dags for name, t in dag["dag"]["tasks"].items()}


def test_caching_is_off_for_every_step_with_side_effects_or_moving_inputs(spec):
    caching = {
        name: t["cachingOptions"] for name, t in _tasks(spec).items() if name.endswith("-op")
    }
    # {} is the proto default, enableCache false: the step always runs.
    assert caching == {
        "monitor-op": {}, "prepare-op": {}, "train-op": {"enableCache": True},
        "evaluate-op": {}, "export-op": {}, "deploy-op": {},
    }  # fmt: skip


def test_training_is_retried_with_backoff_and_nothing_else_is(spec):
    retries = {name: t.get("retryPolicy") for name, t in _tasks(spec).items()}
    assert retries.pop("train-op") == {
        "maxRetryCount": 2, "backoffDuration": "30s", "backoffFactor": 2.0,
        "backoffMaxDuration": "600s",
    }  # fmt: skip
    assert set(retries.values()) == {None}


def test_training_state_is_keyed_by_the_run_that_retries_share(spec):
    """The train step builds its default checkpoint_uri (empty) from the model base, the model
    name and the run's id, which the backend fills in once per run, the same for every retry.
    tests/test_pipeline_local.py checks the resulting location in a kfp.local run."""
    inputs = _tasks(spec)["train-op"]["inputs"]["parameters"]
    assert inputs["run_id"] == {"runtimeValue": {"constant": "{{$.pipeline_job_uuid}}"}}
    gate = spec["root"]["dag"]["tasks"]["condition-1"]["inputs"]["parameters"]
    for name in ("checkpoint_uri", "model_base_uri", "model_name"):
        # inside the drift gate: the gate's input, which is the pipeline parameter
        assert inputs[name] == {"componentInputParameter": f"pipelinechannel--{name}"}
        assert gate[f"pipelinechannel--{name}"] == {"componentInputParameter": name}
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["checkpoint_uri"] == {
        "defaultValue": "", "isOptional": True, "parameterType": "STRING"
    }  # fmt: skip


def test_gpu_node_placement_is_in_the_platform_spec(compiled):
    train = compiled[1]["exec-train-op"]
    assert train["tolerations"] == [
        {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}
    ]
    # the drift gate's input, bound to the pipeline's gpu_node_selector
    assert train["nodeSelector"] == {
        "nodeSelectorJson": {"componentInputParameter": "pipelinechannel--gpu_node_selector"}
    }
    gate = compiled[0]["root"]["dag"]["tasks"]["condition-1"]["inputs"]["parameters"]
    assert gate["pipelinechannel--gpu_node_selector"] == {
        "componentInputParameter": "gpu_node_selector"
    }
    others = {name: conf for name, conf in compiled[1].items() if name != "exec-train-op"}
    assert not any("tolerations" in c or "nodeSelector" in c for c in others.values())


def test_gcs_secret_is_mounted_only_when_named(compiled, tmp_path):
    assert not any(conf.get("secretAsVolume") for conf in compiled[1].values())
    spec = compiled[0]
    assert not any("env" in e["container"] for e in spec["deploymentSpec"]["executors"].values())
    spec, platform = _compile(tmp_path / "p.yaml", "--gcs-secret-name", "gcs-key")
    volume = {
        "mountPath": "/var/secrets/google", "optional": False, "secretName": "gcs-key",
        "secretNameParameter": {"runtimeValue": {"constant": "gcs-key"}},
    }  # fmt: skip
    env = [{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"}]
    steps = [
        f"exec-{s}-op" for s in ("monitor", "prepare", "train", "evaluate", "export", "deploy")
    ]
    assert {e: platform[e]["secretAsVolume"] for e in steps} == {e: [volume] for e in steps}
    executors = spec["deploymentSpec"]["executors"]
    assert {e: executors[e]["container"]["env"] for e in steps} == {e: env for e in steps}
