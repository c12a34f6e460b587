"""The Kubernetes API calls of the deploy step: credentials, and errors that name what failed."""

from collections.abc import Callable
from typing import TypeVar

from kubernetes import config
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from components.errors import StepError

T = TypeVar("T")
RBAC_HINT = "grant the pipeline's service account the Role in k8s/base/deployer-rbac.yaml"


class NotFound(StepError):
    """The named object does not exist."""


def call(verb: str, resource: str, name: str, namespace: str, request: Callable[[], T]) -> T:
    """``request()``, an API call on ``resource/name`` (``resource`` e.g.
    ``deployments.apps``); 403 and 404 become errors naming the verb, the object and the
    namespace."""
    try:
        return request()
    except ApiException as err:
        if err.status == 403:
            raise StepError(
                f"forbidden: cannot {verb} {resource}/{name} in namespace {namespace}; {RBAC_HINT}"
            ) from err
        if err.status == 404:
            raise NotFound(
                f"{resource}/{name} not found in namespace {namespace} "
                "(check the namespace and the name, and that k8s/ was applied)"
            ) from err
        raise StepError(f"{verb} {resource}/{name} in {namespace}: {err.reason}") from err


def default_client() -> ApiClient:
    """In-cluster credentials, else the local kubeconfig."""
    try:
        config.load_incluster_config()
    except ConfigException:
        try:
            config.load_kube_config()
        except (ConfigException, FileNotFoundError) as err:
            raise StepError(f"no Kubernetes credentials: not in a cluster and {err}") from err
    return ApiClient()
