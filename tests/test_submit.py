"""``python -m pipelines submit`` with the real kfp.Client against a loopback KFP API stand-in."""

import subprocess
import sys

import pytest
import yaml
from kfp_api_fake import FakeKFP

from pipelines.submit import submit


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "pipeline.yaml"
    subprocess.run([sys.executable, "-m", "pipelines", "compile", "--output", str(out)], check=True)
    return out


@pytest.fixture
def kfp_api():
    fake = FakeKFP()
    yield fake
    fake.close()


ARGS = {"data_uri": "gs://b/faces", "model_base_uri": "gs://b/models", "epochs": 3}


def test_first_submit_uploads_the_pipeline_and_starts_a_run(kfp_api, package):
    done = submit(kfp_api.url, str(package), "image-classifier-training", "nightly", ARGS)
    (pipeline,) = kfp_api.pipelines.values()
    assert pipeline["display_name"] == "image-classifier-training"
    assert b"image-classifier-training" in kfp_api.uploads[0]  # the compiled IR went up
    (run,) = kfp_api.runs
    assert run["pipeline_version_reference"] == {
        "pipeline_id": pipeline["pipeline_id"],
        "pipeline_version_id": done.version_id,
    }
    assert run["runtime_config"]["parameters"] == ARGS
    assert done.run_url == f"{kfp_api.url}/#/runs/details/{run['run_id']}"
    (experiment,) = kfp_api.experiments.values()
    assert (
        experiment["display_name"] == "nightly"
        and run["experiment_id"] == experiment["experiment_id"]
    )


def test_later_submits_add_versions_and_reuse_the_experiment(kfp_api, package):
    first = submit(kfp_api.url, str(package), "p", "exp", ARGS)
    second = submit(kfp_api.url, str(package), "p", "exp", ARGS)
    assert first.pipeline_id == second.pipeline_id and first.version_id != second.version_id
    assert len(kfp_api.experiments) == 1 and len(kfp_api.runs) == 2


def test_cron_creates_a_recurring_run(kfp_api, package):
    done = submit(kfp_api.url, str(package), "p", "exp", ARGS, cron="0 0 3 * * *")
    (job,) = kfp_api.recurring_runs
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
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
    uploaded = kfp_api.uploads[0].split(b"\r\n\r\n", 1)[-1].split(b"\r\n--")[0]
    assert next(yaml.safe_load_all(uploaded))["pipelineInfo"]["name"] == "image-classifier-training"


def test_unreachable_endpoint_and_missing_package_are_one_line_errors(package, tmp_path):
    missing = tmp_path / "nope.yaml"
    for host, pkg, message in [
        ("http://127.0.0.1:1", package, "cannot reach Kubeflow Pipelines at http://127.0.0.1:1"),
        ("http://127.0.0.1:1", missing, f"{missing} not found: run `make pipeline` first"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines", "submit", "--host", host, "--package", str(pkg),
             "--data-uri", "x", "--model-base-uri", "y"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
