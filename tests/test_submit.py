"""``python -m pipelines submit`` with the real kfp.Client against a strict loopback stand-in
for the KFP API (tests/kfp_api_standin.py: no KFP backend can run here)."""

import subprocess
import sys

import kfp
import pytest
import yaml
from kfp_api_standin import KFPStandIn
from kfp_server_api.exceptions import ApiException

from components.errors import StepError
from pipelines.submit import submit


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "pipeline.yaml"
    subprocess.run([sys.executable, "-m", "pipelines", "compile", "--output", str(out)], check=True)
    return out


@pytest.fixture
def kfp_api():
    standin = KFPStandIn()
    yield standin
    standin.close()


ARGS = {"data_uri": "gs://b/faces", "model_base_uri": "gs://b/models", "epochs": 3}


def test_first_submit_uploads_the_pipeline_and_starts_a_run(kfp_api, package):
    done = submit(kfp_api.url, str(package), "image-classifier-training", "nightly", ARGS)
    (pipeline,) = kfp_api.pipelines.values()
    assert pipeline.display_name == "image-classifier-training"
    spec = kfp_api.specs[done.version_id]  # the compiled IR went up, and parsed as IR
    assert spec["pipelineInfo"]["name"] == "image-classifier-training"
    (run,) = kfp_api.runs
    assert run.pipeline_version_reference.pipeline_id == pipeline.pipeline_id
    assert run.pipeline_version_reference.pipeline_version_id == done.version_id
    assert run.runtime_config.parameters == ARGS
    assert done.run_url == f"{kfp_api.url}/#/runs/details/{run.run_id}"
    (experiment,) = kfp_api.experiments.values()
    assert experiment.display_name == "nightly" and run.experiment_id == experiment.experiment_id


def test_later_submits_add_versions_and_reuse_the_experiment(kfp_api, package):
    first = submit(kfp_api.url, str(package), "p", "exp", ARGS)
    second = submit(kfp_api.url, str(package), "p", "exp", ARGS)
    assert first.pipeline_id == second.pipeline_id and first.version_id != second.version_id
    assert len(kfp_api.experiments) == 1 and len(kfp_api.runs) == 2


def test_cron_creates_a_recurring_run(kfp_api, package):
    done = submit(kfp_api.url, str(package), "p", "exp", ARGS, cron="0 0 3 * * *")
    (job,) = kfp_api.recurring_runs
    assert job.trigger.cron_schedule.cron == "0 0 3 * * *"
    assert "recurringrun/details" in done.run_url and not kfp_api.runs


def test_cli_prints_the_run_url(kfp_api, package):
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "submit", "--host", kfp_api.url,
         "--package", str(package), "--data-uri", "gs://b/d", "--model-base-uri", "gs://b/m"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    # kfp.Client prints its own links first; the last line is ours: the run's URL.
    assert proc.stdout.strip().splitlines()[-1].startswith(f"{kfp_api.url}/#/runs/details/")
    (spec,) = kfp_api.specs.values()
    assert spec["pipelineInfo"]["name"] == "image-classifier-training"


def _refused(kfp_api, package, **overrides) -> str:
    arguments = {**ARGS, **overrides.pop("arguments", {})}
    with pytest.raises(StepError) as err:
        submit(kfp_api.url, str(package), "p", "exp", arguments, **overrides)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_the_api_refuses_wrong_types_missing_inputs_and_bad_crons(kfp_api, package):
    assert "parameter 'epochs' is NUMBER_INTEGER, got str" in _refused(
        kfp_api, package, arguments={"epochs": "three"}
    )
    assert "parameter 'epochs' is NUMBER_INTEGER, got float" in _refused(
        kfp_api, package, arguments={"epochs": 2.5}
    )
    assert "Schedule cron is not a supported format" in _refused(kfp_api, package, cron="0 3 * *")
    assert "bad hour field '25'" in _refused(kfp_api, package, cron="0 0 25 * * *")
    assert not kfp_api.runs and not kfp_api.recurring_runs
    client = kfp.Client(host=kfp_api.url)
    version = kfp_api.versions[next(iter(kfp_api.pipelines))][0]
    experiment = next(iter(kfp_api.experiments))
    for params, problem in [
        ({"data_uri": "d"}, "parameter 'model_base_uri' is required"),
        ({**ARGS, "epoch": 3}, "parameter 'epoch' is not an input"),
    ]:
        with pytest.raises(ApiException) as err:
            client.run_pipeline(experiment, "r", pipeline_id=version.pipeline_id,
                                version_id=version.pipeline_version_id, params=params)  # fmt: skip
        assert err.value.status == 400 and problem in err.value.body


def test_unknown_parameters_are_refused_before_anything_is_uploaded(kfp_api, package):
    message = _refused(kfp_api, package, arguments={"epoch": 3})
    assert message.startswith("unknown pipeline parameter 'epoch'; the pipeline takes ")
    assert "data_uri" in message and "epochs" in message
    assert not kfp_api.pipelines
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "submit", "--host", kfp_api.url, "--package",
         str(package), "--data-uri", "d", "--model-base-uri", "m", "--epoch", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "unrecognized arguments: --epoch 3" in proc.stderr
    assert not kfp_api.pipelines


def test_an_upload_that_is_not_ir_and_a_taken_name_are_refused(kfp_api, package, tmp_path):
    spec, platform = yaml.safe_load_all(package.read_text())
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all([{**spec, "notAField": 1}, platform]))
    assert "Failed to read a pipeline spec file: invalid pipeline spec" in _refused(
        kfp_api, broken
    ) and "notAField" in _refused(kfp_api, broken)
    client = kfp.Client(host=kfp_api.url)
    client.upload_pipeline(str(package), "taken")
    with pytest.raises(ApiException) as err:
        client.upload_pipeline(str(package), "taken")
    assert err.value.status == 409 and len(kfp_api.pipelines) == 1
    not_yaml = tmp_path / "notes.yaml"
    not_yaml.write_text("root: [unclosed\n")
    assert _refused(kfp_api, not_yaml).startswith(f"{not_yaml} is not a compiled pipeline")


def test_a_name_taken_between_lookup_and_upload_is_a_one_line_error(kfp_api, package, monkeypatch):
    """submit adds a version when the name is taken, so the API's 409 for a taken name reaches
    it only when another submit creates the pipeline between its lookup and its upload: here,
    right after the stand-in answers the lookup, with nothing found."""
    route = kfp_api._route

    def another_submit_right_after_the_lookup(method, path, *rest):
        reply = route(method, path, *rest)
        if (method, path) == ("GET", "/apis/v2beta1/pipelines") and not kfp_api.pipelines:
            kfp.Client(host=kfp_api.url).upload_pipeline(str(package), "p")
        return reply

    monkeypatch.setattr(kfp_api, "_route", another_submit_right_after_the_lookup)
    assert _refused(kfp_api, package) == (
        f"Kubeflow Pipelines at {kfp_api.url} refused: HTTP 409: "
        "Failed to create a pipeline and a pipeline version"
    )
    (pipeline,) = kfp_api.pipelines.values()  # the other submit's, with its one version
    assert pipeline.display_name == "p" and len(kfp_api.versions[pipeline.pipeline_id]) == 1
    assert not kfp_api.runs and not kfp_api.experiments


def test_bad_hosts_and_a_missing_package_are_one_line_errors(kfp_api, package, tmp_path):
    missing = tmp_path / "nope.yaml"
    not_kfp = f"{kfp_api.url}/not-kfp"  # answers HTTP, but is no KFP API
    for host, pkg, message in [
        ("http://127.0.0.1:1", package, "cannot reach Kubeflow Pipelines at http://127.0.0.1:1"),
        (not_kfp, package, f"cannot reach Kubeflow Pipelines at {not_kfp}: Failed getting"),
        ("http://127.0.0.1:1", missing, f"{missing} not found: run `make pipeline` first"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines", "submit", "--host", host, "--package", str(pkg),
             "--data-uri", "x", "--model-base-uri", "y"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
