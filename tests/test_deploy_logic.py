"""The deploy step's pure decisions: rollout status and the version patch."""

import pytest
from kubernetes.client import (
    V1Container,
    V1Deployment,
    V1DeploymentCondition,
    V1DeploymentSpec,
    V1DeploymentStatus,
    V1EnvVar,
    V1LabelSelector,
    V1ObjectMeta,
    V1PodSpec,
    V1PodTemplateSpec,
)

from components.deploy.deploy import VERSION_ENV, pinned_version, version_patch
from components.deploy.rollout import rollout_status
from components.errors import StepError


def _deployment(generation=2, env=None, annotations=None, **status) -> V1Deployment:
    container = V1Container(name="predictor", image="predictor:1", env=env)
    return V1Deployment(
        metadata=V1ObjectMeta(name="predictor", generation=generation),
        spec=V1DeploymentSpec(
            replicas=2,
            selector=V1LabelSelector(match_labels={"app": "p"}),
            template=V1PodTemplateSpec(
                metadata=V1ObjectMeta(annotations=annotations),
                spec=V1PodSpec(containers=[V1Container(name="sidecar"), container]),
            ),
        ),
        status=V1DeploymentStatus(**status),
    )


@pytest.mark.parametrize(
    ("status", "done", "failed", "message"),
    [
        (dict(observed_generation=1), False, False, "spec update to be observed"),
        (dict(observed_generation=2, updated_replicas=1, replicas=2), False, False,
         "1 of 2 new replicas updated"),
        (dict(observed_generation=2, updated_replicas=2, replicas=3), False, False,
         "1 old replicas pending termination"),
        (dict(observed_generation=2, updated_replicas=2, replicas=2, available_replicas=1),
         False, False, "1 of 2 updated replicas available"),
        (dict(observed_generation=2, updated_replicas=2, replicas=2, available_replicas=2),
         True, False, "rolled out: 2 replicas available"),
        (dict(observed_generation=2, conditions=[V1DeploymentCondition(
            type="Progressing", status="False", reason="ProgressDeadlineExceeded",
            message='ReplicaSet "p-1" has timed out progressing.')]),
         False, True, "progress deadline exceeded"),
    ],
)  # fmt: skip
def test_rollout_status_follows_kubectl(status, done, failed, message):
    result = rollout_status(_deployment(**status))
    assert (result.done, result.failed) == (done, failed)
    assert message in result.message


def test_patch_adds_env_and_annotation_to_the_named_container():
    patch = version_patch(_deployment(), "predictor", 7)
    assert patch == [
        {"op": "add", "path": "/spec/template/spec/containers/1/env",
         "value": [{"name": VERSION_ENV, "value": "specific:7"}]},
        {"op": "add", "path": "/spec/template/metadata/annotations",
         "value": {"imgclf.dev/model-version": "7"}},
    ]  # fmt: skip


def test_patch_replaces_a_pinned_version_in_place():
    env = [V1EnvVar(name="A", value="x"), V1EnvVar(name=VERSION_ENV, value="specific:3")]
    deployment = _deployment(env=env, annotations={"other": "y"})
    assert pinned_version(deployment, "predictor") == 3
    patch = version_patch(deployment, "predictor", 4)
    assert patch[0] == {
        "op": "replace",
        "path": "/spec/template/spec/containers/1/env/1",
        "value": {"name": VERSION_ENV, "value": "specific:4"},
    }
    assert patch[1]["path"] == "/spec/template/metadata/annotations/imgclf.dev~1model-version"


def test_unknown_container_is_named():
    with pytest.raises(StepError, match="no container 'server'"):
        pinned_version(_deployment(), "server")
