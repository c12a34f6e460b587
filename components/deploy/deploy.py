"""Point the predictor Deployment at a model version, watch the rollout, smoke-test, roll back.

The version is pinned in the predictor container's environment
(``PREDICTOR_MODEL_VERSION_POLICY=specific:<N>``, the env form of the
predictor's ``--model-version-policy`` flag) and mirrored in a pod-template annotation for
``kubectl describe``. Changing the pod template is what starts a rolling
update; pinning (rather than letting pods pick "the latest") keeps every
replica, and every pod the autoscaler adds later, on the version that was
tested.

Permissions needed (k8s/base/deployer-rbac.yaml): get and patch on the one
Deployment. The rollout is followed by polling ``get``.
"""

import time
from dataclasses import dataclass

from kubernetes import config
from kubernetes.client import ApiClient, AppsV1Api, V1Deployment
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from components.deploy.rollout import rollout_status
from components.deploy.smoke import SmokeTestError, load_smoke_case, smoke_test
from components.errors import StepError

VERSION_ENV = "PREDICTOR_MODEL_VERSION_POLICY"
PINNED = "specific:"
VERSION_ANNOTATION = "imgclf.dev/model-version"


@dataclass(frozen=True)
class DeployResult:
    """What the deploy step did."""

    namespace: str
    deployment: str
    version: int
    changed: bool  # False: the Deployment already ran this version
    message: str


class DeployError(StepError):
    """The rollout failed; the Deployment was rolled back to ``previous_version``."""


def deploy_version(
    *,
    model_base_uri: str,
    model_name: str,
    version: int,
    namespace: str,
    deployment: str,
    container: str = "predictor",
    smoke_url: str = "",
    timeout_s: float = 600,
    api_client: ApiClient | None = None,
) -> DeployResult:
    """Roll ``deployment`` onto ``version`` of ``model_name``; roll back if it fails.

    Args:
        model_base_uri: where the version was published (its metadata holds the smoke test).
        model_name: the model's name in the store and in the predictor's URLs.
        version: the published version to serve.
        namespace: the Deployment's namespace.
        deployment: the predictor Deployment's name.
        container: the predictor container's name in the pod template.
        smoke_url: base URL of the predictor Service; default
            ``http://<deployment>.<namespace>.svc``.
        timeout_s: how long to wait for the rollout before rolling back.
        api_client: a configured Kubernetes client (default: in-cluster config,
            else the local kubeconfig).

    Raises:
        DeployError: the rollout or the smoke test failed; the Deployment was rolled back.
        StepError: the Deployment is missing or the service account may not read/patch it.
        StorageError: the version is not published under ``model_base_uri`` (nothing
            was changed).
    """
    # The version must be published (with its smoke test) before anything is rolled out.
    case = load_smoke_case(model_base_uri, model_name, version)
    apps = AppsV1Api(api_client or _default_client())
    current = _call(apps.read_namespaced_deployment, "get", deployment, namespace)
    previous = pinned_version(current, container)
    smoke_url = smoke_url or f"http://{deployment}.{namespace}.svc"
    if previous == version and rollout_status(current).done:
        return DeployResult(namespace, deployment, version, False, f"already serving {version}")

    print(f"deploy: {namespace}/{deployment}: version {previous} -> {version}")
    template = apps.api_client.sanitize_for_serialization(current.spec.template)
    patch = version_patch(current, container, version)
    _call(apps.patch_namespaced_deployment, "patch", deployment, namespace, body=patch)
    try:
        wait_for_rollout(apps, deployment, namespace, timeout_s)
        smoke_test(smoke_url, case, model_name, version)
    except (TimeoutError, SmokeTestError) as err:
        print(f"deploy: {err}; rolling back to version {previous}")
        rollback = [{"op": "replace", "path": "/spec/template", "value": template}]
        _call(apps.patch_namespaced_deployment, "patch", deployment, namespace, body=rollback)
        wait_for_rollout(apps, deployment, namespace, timeout_s)
        raise DeployError(
            f"{namespace}/{deployment}: version {version} failed ({err}); "
            f"rolled back to version {previous}"
        ) from err
    return DeployResult(namespace, deployment, version, True, f"serving version {version}")


def pinned_version(deployment: V1Deployment, container: str) -> int | None:
    """The version pinned in the container's environment, or None."""
    for env in _container(deployment, container).env or []:
        value = env.value or ""
        if env.name == VERSION_ENV and value.startswith(PINNED) and value[len(PINNED) :].isdigit():
            return int(value[len(PINNED) :])
    return None


def version_patch(deployment: V1Deployment, container: str, version: int) -> list[dict]:
    """JSON-patch operations that pin ``version`` in the pod template."""
    containers = deployment.spec.template.spec.containers
    index = next(i for i, c in enumerate(containers) if c.name == container)
    env_path = f"/spec/template/spec/containers/{index}/env"
    entry = {"name": VERSION_ENV, "value": f"{PINNED}{version}"}
    env = containers[index].env
    ops: list[dict[str, object]]
    if env is None:
        ops = [{"op": "add", "path": env_path, "value": [entry]}]
    else:
        names = [e.name for e in env]
        if VERSION_ENV in names:
            ops = [
                {"op": "replace", "path": f"{env_path}/{names.index(VERSION_ENV)}", "value": entry}
            ]
        else:
            ops = [{"op": "add", "path": f"{env_path}/-", "value": entry}]
    key = VERSION_ANNOTATION.replace("/", "~1")
    if deployment.spec.template.metadata.annotations is None:
        annotations = {VERSION_ANNOTATION: str(version)}
        ops.append(
            {"op": "add", "path": "/spec/template/metadata/annotations", "value": annotations}
        )
    else:
        ops.append(
            {
                "op": "add",
                "path": f"/spec/template/metadata/annotations/{key}",
                "value": str(version),
            }
        )
    return ops


def wait_for_rollout(apps: AppsV1Api, deployment: str, namespace: str, timeout_s: float) -> None:
    """Poll the Deployment until its rollout is done.

    Raises:
        TimeoutError: not done within ``timeout_s``, or the progress deadline passed.
    """
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        status = rollout_status(
            _call(apps.read_namespaced_deployment, "get", deployment, namespace)
        )
        if status.done:
            print(f"deploy: {status.message}")
            return
        if status.failed:
            raise TimeoutError(status.message)
        if status.message != last:
            print(f"deploy: {status.message}", flush=True)
            last = status.message
        if time.monotonic() > deadline:
            raise TimeoutError(f"rollout not done after {timeout_s:.0f}s: {status.message}")
        time.sleep(1)


def _container(deployment: V1Deployment, name: str):
    for container in deployment.spec.template.spec.containers:
        if container.name == name:
            return container
    names = [c.name for c in deployment.spec.template.spec.containers]
    raise StepError(
        f"deployment {deployment.metadata.name} has no container {name!r} (it has {names})"
    )


def _call(method, verb: str, name: str, namespace: str, **kwargs):
    """Call the API; turn 403/404 into errors naming the verb, resource and namespace."""
    try:
        return method(name, namespace, **kwargs)
    except ApiException as err:
        if err.status == 403:
            raise StepError(
                f"forbidden: cannot {verb} deployments.apps/{name} in namespace {namespace}; "
                "grant the pipeline's service account the Role in k8s/base/deployer-rbac.yaml"
            ) from err
        if err.status == 404:
            raise StepError(
                f"deployment {name} not found in namespace {namespace} "
                "(check the namespace and deployment name, and that k8s/ was applied)"
            ) from err
        raise StepError(f"{verb} deployments.apps/{name} in {namespace}: {err.reason}") from err


def _default_client() -> ApiClient:
    try:
        config.load_incluster_config()
    except ConfigException:
        try:
            config.load_kube_config()
        except (ConfigException, FileNotFoundError) as err:
            raise StepError(f"no Kubernetes credentials: not in a cluster and {err}") from err
    return ApiClient()
