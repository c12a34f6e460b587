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
) -> str:
    """Roll the predictor Deployment onto ``version``; roll back and fail if it does not work.

    Runs with the pipeline's service account (in-cluster config); it needs only
    the Role in k8s/base/deployer-rbac.yaml.
    """
    from components.deploy.deploy import deploy_version

    result = deploy_version(
        model_base_uri=model_base_uri,
        model_name=model_name,
        version=version,
        namespace=namespace,
        deployment=deployment,
        smoke_url=smoke_url,
        timeout_s=timeout_s,
    )
    return result.message
