"""Scenarios 2 and 3 on the real node: the pipeline's deploy step, as written, rolls the
predictor Deployment from version N to N+1 under load, and rolls back for real when the
new version never becomes Ready or answers its smoke test wrongly.

The step authenticates as the pipeline's service account (kubeflow/pipeline-runner, with a
token the API server issued for it, so only the shipped Role applies) and smoke-tests
through the Service's ClusterIP. The rollout from 1 to 2 runs the step's own command
line (``python -m components.deploy``) with a kubeconfig holding that token. Versions 1
and 2 are two trainings with different seeds, so which one answered is visible in the
probabilities.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from cluster_load import failures, v2_load, versions
from cluster_report import record
from k8s_cluster import (
    MODEL,
    NAMESPACE,
    ROOT,
    deploy,
    holdout_images,
    keras_answers,
    pinned,
    predict,
    ready_pod_ips,
    service_url,
)

from bench.soak.models import corrupt_copy
from components.deploy.deploy import DeployError, deploy_version
from components.errors import StepError
from components.export.publish import export_and_publish
from components.storage import publish_version

ROLLOUT_TIMEOUT_S = 30  # how long the step waits for a corrupt version before rolling back


def _deploy_step(cluster, kubeconfig, models, version: int) -> subprocess.CompletedProcess[str]:
    """The deploy step's own command line, as the pipeline's service account."""
    return subprocess.run(
        [sys.executable, "-m", "components.deploy", "--model-base-uri", str(models),
         "--model-name", MODEL, "--version", str(version), "--namespace", NAMESPACE,
         "--deployment", "predictor", "--smoke-url", service_url(cluster), "--timeout-s", "240"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)}, cwd=ROOT, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained_v2(split_dir, tmp_path_factory):
    """A second training of the same model with another seed: different weights."""
    from components.train.train import TrainParams, train_classifier

    out = tmp_path_factory.mktemp("trained-v2")
    params = TrainParams(backbone="small_cnn", weights="none", image_size=32, batch_size=8,
                         epochs=4, seed=7)  # fmt: skip
    train_classifier(split_dir, out, params)
    return out


@pytest.fixture(scope="module")
def version_2(cluster_models, trained_v2, split_dir) -> int:
    published = export_and_publish(
        trained_v2, split_dir, str(cluster_models), MODEL, {"note": "v2"}
    )
    assert published.version == 2
    return 2


def _assert_every_pod_serves(cluster, trained, other, images) -> None:
    """Every Ready pod answers as ``trained`` does, and not as ``other`` does."""
    expected, labels = keras_answers(trained, images)
    not_expected, _ = keras_answers(other, images)
    assert np.abs(np.array(expected) - np.array(not_expected)).max() > 1e-3  # distinguishable
    pods = ready_pod_ips(cluster)
    assert len(pods) >= 2  # the autoscaler may have added one under the test's load
    for ip in pods:
        served = predict(f"http://{ip}:8501", images)
        np.testing.assert_allclose([p["probabilities"] for p in served], expected, atol=1e-5)
        assert [p["label"] for p in served] == labels


def test_rollout_to_the_next_version_loses_no_request(
    predictor_deployment, admin, deployer, deployer_kubeconfig, cluster_models, trained_dir,
    trained_v2, version_2, split_dir,
):  # fmt: skip
    images = holdout_images(split_dir)
    first = deploy(predictor_deployment, deployer, cluster_models, 1)  # pin N = 1
    assert pinned(admin) == 1 and first.version == 1
    started = time.monotonic()
    with v2_load(service_url(predictor_deployment), images[0]) as load:
        step = _deploy_step(predictor_deployment, deployer_kubeconfig, cluster_models, version_2)
        rollout_s = time.monotonic() - started
        time.sleep(2)
    answers = load.result
    assert step.returncode == 0, step.stdout + step.stderr
    assert "version 1 -> 2" in step.stdout and "serving version 2" in step.stdout
    assert pinned(admin) == 2
    assert failures(answers, since=started) == []
    assert answers.sent > 20 and set(versions(answers)) == {"1", "2"}
    _assert_every_pod_serves(predictor_deployment, trained_v2, trained_dir, images)
    again = deploy(predictor_deployment, deployer, cluster_models, version_2)
    assert not again.changed
    record(
        "rollout",
        {
            "from": 1,
            "to": 2,
            "seconds": round(rollout_s, 1),
            "requests_sent": answers.sent,
            "requests_lost": len(failures(answers)),
            "answers_by_version": versions(answers),
        },
    )


def test_version_that_never_becomes_ready_is_rolled_back(
    predictor_deployment, admin, deployer, cluster_models, trained_dir, trained_v2, split_dir,
    tmp_path,
):  # fmt: skip
    images = holdout_images(split_dir)
    assert pinned(admin) == 2
    corrupt = corrupt_copy(cluster_models / MODEL / "2", tmp_path / "corrupt")
    (corrupt / "_COMPLETE").unlink()
    version = publish_version(corrupt, str(cluster_models), MODEL).version
    started = time.monotonic()
    with v2_load(service_url(predictor_deployment), images[0]) as load:
        with pytest.raises(
            DeployError, match=f"version {version} failed.*rolled back to version 2"
        ):
            deploy(
                predictor_deployment, deployer, cluster_models, version, timeout_s=ROLLOUT_TIMEOUT_S
            )
        elapsed = time.monotonic() - started
    answers = load.result
    assert pinned(admin) == 2
    # The new pod never became Ready, so it never got a request: every answer is version 2.
    assert failures(answers) == [] and set(versions(answers)) == {"2"}
    _assert_every_pod_serves(predictor_deployment, trained_v2, trained_dir, images)
    record(
        "rollback_not_ready",
        {
            "version": version,
            "rollout_timeout_s": ROLLOUT_TIMEOUT_S,
            "seconds_until_back_on_2": round(elapsed, 1),
            "rollback_s": round(elapsed - ROLLOUT_TIMEOUT_S, 1),
            "requests_sent": answers.sent,
            "requests_lost": len(failures(answers)),
        },
    )


def test_version_that_answers_wrongly_is_rolled_back(
    predictor_deployment, admin, deployer, cluster_models, trained_dir, trained_v2, split_dir,
    tmp_path,
):  # fmt: skip
    """A loadable model whose stored smoke answer disagrees with what it serves."""
    images = holdout_images(split_dir)
    lying = tmp_path / "lying"
    shutil.copytree(cluster_models / MODEL / "1", lying)
    (lying / "_COMPLETE").unlink()
    metadata = json.loads((lying / "metadata.json").read_text())
    smoke = metadata["smoke_test"]
    smoke["label"] = next(c for c in metadata["classes"] if c != smoke["label"])
    (lying / "metadata.json").write_text(json.dumps(metadata))
    version = publish_version(lying, str(cluster_models), MODEL).version
    started = time.monotonic()
    with v2_load(service_url(predictor_deployment), images[0]) as load:
        with pytest.raises(
            DeployError, match=f"expected '{smoke['label']}'.*rolled back to version 2"
        ):
            deploy(predictor_deployment, deployer, cluster_models, version)
        elapsed = time.monotonic() - started
    answers = load.result
    assert pinned(admin) == 2
    assert failures(answers) == []
    _assert_every_pod_serves(predictor_deployment, trained_v2, trained_dir, images)
    record(
        "rollback_wrong_answer",
        {
            "version": version,
            "seconds_until_back_on_2": round(elapsed, 1),
            "requests_sent": answers.sent,
            "requests_lost": len(failures(answers)),
            "answers_by_version": versions(answers),
        },
    )


def test_rbac_forbidden_names_the_verb_and_resource(deployer, cluster_models):
    # The Role covers the Deployment named "predictor" only.
    with pytest.raises(StepError, match="forbidden: cannot get deployments.apps/other"):
        deploy_version(model_base_uri=str(cluster_models), model_name=MODEL, version=1,
                       namespace=NAMESPACE, deployment="other", api_client=deployer)  # fmt: skip


@pytest.mark.parametrize(("namespace", "name"), [(NAMESPACE, "nope"), ("ghost", "predictor")])
def test_missing_deployment_or_namespace(admin, cluster_models, namespace, name):
    with pytest.raises(
        StepError, match=f"deployments.apps/{name} not found in namespace {namespace}"
    ):
        deploy_version(model_base_uri=str(cluster_models), model_name=MODEL, version=1,
                       namespace=namespace, deployment=name, api_client=admin)  # fmt: skip
