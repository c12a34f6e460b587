"""KFP component for the deploy step."""

from kfp import dsl

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def deploy_op(
    model_base_uri: str,
    model_name: str,
    version: int,
    namespace: str,
    deployment: str,
    smoke_url: str,
    timeout_s: int,
    strategy: str = "rolling",
    route: str = "predictor",
    canary_steps: str = "5,25,50,100",
    canary_step_wait_s: float = 60,
    canary_min_requests: int = 20,
    canary_max_error_rate_increase: float = 0.01,
    canary_max_p99_ratio: float = 1.5,
    canary_p99_margin_ms: float = 50,
    prediction_log_uri: str = "",
    shadow_percent: int = 100,
    shadow_duration_s: float = 300,
    shadow_min_agreement: float = 0.95,
    shadow_max_delta: float = 0.1,
    shadow_mirror: str = "gateway-api",
) -> str:
    """Put ``version`` in front of users with ``strategy`` (rolling, canary or shadow); undo
    and fail if it does not hold up.

    Runs with the pipeline's service account (in-cluster config); it needs only
    the Role in k8s/base/deployer-rbac.yaml.
    """
    settings = dict(locals())  # the parameters, by name: canary_*, shadow_*, ...
    import json

    from components.deploy.deploy import deploy_version
    from components.deploy.params import strategy_params

    canary, shadow = strategy_params(strategy, settings)
    result = deploy_version(
        model_base_uri=model_base_uri,
        model_name=model_name,
        version=version,
        namespace=namespace,
        deployment=deployment,
        strategy=strategy,
        canary=canary,
        shadow=shadow,
        route=route,
        smoke_url=smoke_url,
        timeout_s=timeout_s,
    )
    print(json.dumps(result.report))
    return result.message
