"""The deploy step's pure decisions: rollout status, the version pin, the canary Deployment
made from the stable one, the route's rules for each traffic split, and its settings."""

import pytest
from kubernetes.client import (
    ApiClient,
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

from components.deploy.canary_deployment import canary_manifest
from components.deploy.params import CanaryParams, ShadowParams, parse_steps, strategy_params
from components.deploy.rollout import rollout_status
from components.deploy.route import Route
from components.deploy.versions import VERSION_ENV, pin_version, pinned_version
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


def _template(deployment: V1Deployment) -> dict:
    return ApiClient().sanitize_for_serialization(deployment.spec.template)


def test_pin_adds_env_and_annotation_to_the_named_container():
    deployment = _deployment()
    pinned = pin_version(_template(deployment), "predictor", 7)
    assert pinned["spec"]["containers"][1]["env"] == [{"name": VERSION_ENV, "value": "specific:7"}]
    assert "env" not in pinned["spec"]["containers"][0]  # the sidecar is left alone
    assert pinned["metadata"]["annotations"] == {"imgclf.dev/model-version": "7"}
    assert "env" not in _template(deployment)["spec"]["containers"][1]  # a copy


def test_pin_replaces_a_pinned_version_in_place():
    env = [V1EnvVar(name="A", value="x"), V1EnvVar(name=VERSION_ENV, value="specific:3"),
           V1EnvVar(name="B", value="z")]  # fmt: skip
    deployment = _deployment(env=env, annotations={"other": "y"})
    assert pinned_version(deployment, "predictor") == 3
    pinned = pin_version(_template(deployment), "predictor", 4)
    assert pinned["spec"]["containers"][1]["env"] == [
        {"name": "A", "value": "x"}, {"name": VERSION_ENV, "value": "specific:4"},
        {"name": "B", "value": "z"},
    ]  # fmt: skip
    assert pinned["metadata"]["annotations"] == {"other": "y", "imgclf.dev/model-version": "4"}


def test_canary_is_the_stable_template_on_its_own_selector():
    stable = _deployment(env=[V1EnvVar(name=VERSION_ENV, value="specific:3")])
    stable.metadata.namespace = "imgclf"
    stable.spec.selector = V1LabelSelector(
        match_labels={
            "app.kubernetes.io/name": "predictor",
            "app.kubernetes.io/component": "serving",
        }
    )
    stable.spec.template.metadata.labels = dict(stable.spec.selector.match_labels)
    manifest = canary_manifest(_apps(), stable, "predictor", 4, replicas=1)
    spec = manifest["spec"]
    assert manifest["metadata"]["name"] == "predictor-canary"
    assert spec["replicas"] == 1
    canary_labels = {"app.kubernetes.io/name": "predictor", "app.kubernetes.io/component": "canary"}
    assert spec["selector"]["matchLabels"] == canary_labels
    assert spec["template"]["metadata"]["labels"] == canary_labels
    assert spec["template"]["spec"]["containers"][1]["env"] == [
        {"name": VERSION_ENV, "value": "specific:4"}
    ]
    # The stable Deployment's own selector does not match the canary's pods.
    assert stable.spec.selector.match_labels["app.kubernetes.io/component"] == "serving"
    assert stable.spec.template.spec.containers[1].env[0].value == "specific:3"


def _apps():
    from kubernetes.client import AppsV1Api

    return AppsV1Api(ApiClient())


def test_unknown_container_is_named():
    with pytest.raises(StepError, match="no container 'server'"):
        pinned_version(_deployment(), "server")


RULE = {
    "matches": [{"path": {"type": "PathPrefix", "value": "/v2"}}],
    "filters": [{"type": "ExtensionRef", "extensionRef": {"name": "body-limit"}}],
    "backendRefs": [{"name": "predictor", "port": 80}],
}


def _route() -> Route:
    return Route(ApiClient(), "predictor", "imgclf", "predictor", "predictor-canary")


@pytest.mark.parametrize("weight", [5, 50, 100])
def test_weights_split_between_the_two_services_and_keep_the_rest_of_the_rule(weight):
    rule = _route()._weighted(RULE, weight)
    assert rule["backendRefs"] == [
        {"name": "predictor", "port": 80, "weight": 100 - weight},
        {"name": "predictor-canary", "port": 80, "weight": weight},
    ]
    assert rule["matches"] == RULE["matches"] and rule["filters"] == RULE["filters"]


def test_a_grpcroute_rule_keeps_its_port_and_matches():
    rule = {"matches": [{"method": {"service": "inference.GRPCInferenceService"}}],
            "backendRefs": [{"name": "predictor", "port": 8500}]}  # fmt: skip
    split = _route()._weighted(rule, 20)
    assert split["backendRefs"] == [
        {"name": "predictor", "port": 8500, "weight": 80},
        {"name": "predictor-canary", "port": 8500, "weight": 20},
    ]
    assert split["matches"] == rule["matches"]
    assert _route()._weighted(split, 0) == rule


def test_weight_zero_and_reset_restore_the_rule_as_applied():
    route = _route()
    split = route._weighted(RULE, 25)
    target = {"name": "predictor-canary"}
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": target, "percent": 10}}
    mirrored = {**split, "filters": [*split["filters"], mirror]}
    assert route._weighted(split, 0) == RULE
    assert route._weighted(mirrored, 0) == RULE


@pytest.mark.parametrize(
    ("steps", "problem"),
    [((), "each must be in 1..100"), ((0, 50), "each must be in 1..100"),
     ((5, 101), "each must be in 1..100"), ((50, 25, 100), "must be increasing"),
     ((5, 5, 100), "must be increasing")],
)  # fmt: skip
def test_canary_steps_must_increase_within_0_to_100(steps, problem):
    with pytest.raises(StepError, match=problem):
        CanaryParams(steps=steps)


@pytest.mark.parametrize(
    ("values", "problem"),
    [({"strategy": "blue"}, "strategy 'blue': must be one of rolling, canary, shadow"),
     ({"canary_steps": "5,x"}, "expected percents like 5,25,50,100"),
     ({"canary_step_wait_s": 0}, "canary step wait"),
     ({"canary_max_error_rate_increase": 2}, "must be in 0..1"),
     ({"strategy": "shadow", "prediction_log_uri": ""}, "shadow needs the"),
     ({"strategy": "shadow", "shadow_percent": 0}, "shadow percent 0"),
     ({"strategy": "shadow", "shadow_mirror": "istio"}, "must be one of gateway-api, traefik")],
)  # fmt: skip
def test_bad_settings_are_refused_with_their_name(values, problem):
    settings = {"strategy": "canary", "canary_steps": "5,25,50,100",
                "prediction_log_uri": "gs://b/p", **values}  # fmt: skip
    with pytest.raises(StepError, match=problem):
        strategy_params(settings.pop("strategy"), settings)


def test_settings_from_flat_names():
    canary, shadow = strategy_params("canary", {"canary_steps": "10,100", "canary_step_wait_s": 5,
                                                "shadow_percent": 0})  # fmt: skip
    assert canary == CanaryParams(steps=(10, 100), step_wait_s=5) and shadow is None
    canary, shadow = strategy_params("shadow", {"prediction_log_uri": "/logs", "canary_steps": "x",
                                                "shadow_percent": 20})  # fmt: skip
    assert canary is None and shadow == ShadowParams(prediction_log_uri="/logs", percent=20)
    assert parse_steps("5,25") == (5, 25)
    assert strategy_params("rolling", {}) == (None, None)
