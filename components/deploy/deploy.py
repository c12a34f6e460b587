"""Put a model version in front of users with one of three strategies, or leave things as
they were.

* ``rolling``: the predictor Deployment's pod template is pinned to the version (a rolling
  update), the rollout is followed like ``kubectl rollout status``, one prediction is
  smoke-tested through the Service, and the template is rolled back if either fails.
* ``canary`` (canary.py): a second Deployment serves the version and the HTTPRoute's
  weights move traffic to it in steps, each checked against the stable pods' metrics.
* ``shadow`` (shadow.py): the route mirrors live traffic to the version; promotion needs
  its prediction logs to agree with the stable version's.

Every run starts by repairing what an interrupted run left: a route still sending to, or
mirroring to, the canary goes back to the stable Service alone, and a canary Deployment
that still runs pods is deleted.

Permissions needed: k8s/base/deployer-rbac.yaml.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api, V1Deployment

from components.deploy.canary_deployment import (
    canary_manifest,
    canary_name,
    create_canary,
    delete_canary,
    read_canary,
    scale_canary,
)
from components.deploy.kube import NotFound, call, default_client
from components.deploy.params import CanaryParams, ShadowParams, check_strategy
from components.deploy.rollout import rollout_status
from components.deploy.route import Route
from components.deploy.smoke import SmokeCase, SmokeTestError, load_smoke_case, smoke_test
from components.deploy.versions import pin_version, pinned_version
from components.errors import StepError

RESOURCE = "deployments.apps"


@dataclass(frozen=True)
class DeployResult:
    """What the deploy step did."""

    namespace: str
    deployment: str
    version: int
    changed: bool  # False: the Deployment already ran this version
    message: str
    strategy: str = "rolling"
    report: dict = field(default_factory=dict)  # canary steps or shadow agreement figures


class DeployError(StepError):
    """The new version failed; the stable Deployment serves the previous one."""


@dataclass
class Target:
    """The stable predictor Deployment the step moves, and how to reach it."""

    apps: AppsV1Api
    core: CoreV1Api
    namespace: str
    deployment: str
    container: str
    smoke_url: str
    canary_smoke_url: str
    timeout_s: float
    route: Route | None

    def read(self, name: str | None = None) -> V1Deployment:
        name = name or self.deployment
        return call("get", RESOURCE, name, self.namespace,
                    lambda: self.apps.read_namespaced_deployment(name, self.namespace))  # fmt: skip

    def set_template(self, template: dict) -> None:
        """Replace the stable Deployment's pod template (a rollout starts if it differs)."""
        body = [{"op": "replace", "path": "/spec/template", "value": template}]
        call("patch", RESOURCE, self.deployment, self.namespace,
             lambda: self.apps.patch_namespaced_deployment(self.deployment, self.namespace,
                                                           body))  # fmt: skip

    def wait(self, name: str | None = None) -> None:
        wait_for_rollout(self, name or self.deployment)

    def start_canary(self, current: V1Deployment, case: SmokeCase, model_name: str,
                     version: int, replicas: int) -> None:  # fmt: skip
        """Create ``<deployment>-canary`` on ``version`` from the stable template, wait for
        it and smoke-test it through its Service (before it gets any traffic).

        Raises:
            TimeoutError, SmokeTestError: the canary did not come up or answer right (it is
                left for the caller to delete).
        """
        manifest = canary_manifest(self.apps, current, self.container, version, replicas)
        create_canary(self.apps, manifest)
        self.wait(manifest["metadata"]["name"])
        smoke_test(self.canary_smoke_url, case, model_name, version)

    def promote(self, current: V1Deployment, case: SmokeCase, model_name: str,
                version: int) -> None:  # fmt: skip
        """Roll the stable Deployment onto ``version``, then every request to it alone and
        the canary scaled to zero; if the rollout fails, the canary is deleted instead."""
        try:
            roll(self, current, case, model_name, version)
        except DeployError:
            self.reset_route()
            delete_canary(self.apps, self.deployment, self.namespace)
            raise
        self.reset_route()
        scale_canary(self.apps, self.deployment, self.namespace, 0)

    def abandon(self, what: str, version: int, previous: int | None, how: str) -> DeployError:
        """Every request to the stable Service alone, then the canary deleted; the error
        that says ``what`` (canary, shadow) of ``version`` failed ``how``."""
        self.reset_route()
        delete_canary(self.apps, self.deployment, self.namespace)
        return DeployError(
            f"{self.namespace}/{self.deployment}: {what} of version {version} failed {how}; "
            f"stable version {previous} serves 100%"
        )

    def reset_route(self) -> None:
        if self.route is not None:
            self.route.reset()

    def roll_to(self, current: V1Deployment, version: int) -> dict:
        """Pin ``version`` in the Deployment's pod template; the template it had before."""
        template = self.apps.api_client.sanitize_for_serialization(current.spec.template)
        self.set_template(pin_version(template, self.container, version))
        return template


def deploy_version(
    *,
    model_base_uri: str,
    model_name: str,
    version: int,
    namespace: str,
    deployment: str,
    strategy: str = "rolling",
    canary: CanaryParams | None = None,
    shadow: ShadowParams | None = None,
    route: str = "predictor",
    container: str = "predictor",
    smoke_url: str = "",
    canary_smoke_url: str = "",
    timeout_s: float = 600,
    api_client: ApiClient | None = None,
) -> DeployResult:
    """Put ``version`` of ``model_name`` in front of users with ``strategy``.

    Args:
        model_base_uri: where the version was published (its metadata holds the smoke test).
        model_name: the model's name in the store and in the predictor's URLs.
        version: the published version to serve.
        namespace: the Deployment's namespace.
        deployment: the stable predictor Deployment's name (its Service has the same name).
        strategy: ``rolling``, ``canary`` or ``shadow``.
        canary: the canary's steps and checks (default :class:`CanaryParams`).
        shadow: the shadow's mirror and agreement bounds (required for ``shadow``).
        route: the HTTPRoute in front of the Service (canary and shadow move it; every
            strategy repairs it); empty: no route (``rolling`` only).
        container: the predictor container's name in the pod template.
        smoke_url: base URL of the predictor Service; default
            ``http://<deployment>.<namespace>.svc``.
        canary_smoke_url: the same for the canary Service (``<deployment>-canary``).
        timeout_s: how long to wait for a rollout before rolling back.
        api_client: a configured Kubernetes client (default: in-cluster config,
            else the local kubeconfig).

    Raises:
        DeployError: the new version failed; the stable Deployment serves the previous
            version and the route sends it every request.
        StepError: a parameter is invalid, an object is missing, or the service account
            may not do what the step needs (nothing was changed).
        StorageError: the version is not published under ``model_base_uri`` (nothing
            was changed).
    """
    check_strategy(strategy)
    if strategy == "shadow" and shadow is None:
        raise StepError("strategy shadow needs its settings (the prediction log URI)")
    if strategy != "rolling" and not route:
        raise StepError(f"strategy {strategy} needs the HTTPRoute in front of the predictor")
    # The version must be published (with its smoke test) before anything changes.
    case = load_smoke_case(model_base_uri, model_name, version)
    client = api_client or default_client()
    canary_service = canary_name(deployment)
    target = Target(
        apps=AppsV1Api(client), core=CoreV1Api(client), namespace=namespace,
        deployment=deployment, container=container,
        smoke_url=smoke_url or f"http://{deployment}.{namespace}.svc",
        canary_smoke_url=canary_smoke_url or f"http://{canary_service}.{namespace}.svc",
        timeout_s=timeout_s,
        route=Route(client, route, namespace, deployment, canary_service) if route else None,
    )  # fmt: skip
    current = target.read()
    if target.route is not None and not _route_exists(target.route, strategy):
        target.route = None
    repair(target)
    if pinned_version(current, container) == version and rollout_status(current).done:
        return DeployResult(namespace, deployment, version, False, f"already serving {version}",
                            strategy)  # fmt: skip
    if strategy == "canary":
        from components.deploy.canary import run_canary

        return run_canary(target, current, case, model_name, version, canary or CanaryParams())
    if strategy == "shadow":
        from components.deploy.shadow import run_shadow

        assert shadow is not None
        return run_shadow(target, current, case, model_name, version, shadow)
    return roll(target, current, case, model_name, version)


def roll(target: Target, current: V1Deployment, case: SmokeCase, model_name: str,
         version: int) -> DeployResult:  # fmt: skip
    """The rolling strategy: the stable Deployment itself moves to ``version``."""
    previous = pinned_version(current, target.container)
    name, namespace = target.deployment, target.namespace
    print(f"deploy: {namespace}/{name}: version {previous} -> {version}")
    template = target.roll_to(current, version)
    try:
        target.wait()
        smoke_test(target.smoke_url, case, model_name, version)
    except (TimeoutError, SmokeTestError) as err:
        print(f"deploy: {err}; rolling back to version {previous}")
        target.set_template(template)
        target.wait()
        raise DeployError(
            f"{namespace}/{name}: version {version} failed ({err}); "
            f"rolled back to version {previous}"
        ) from err
    return DeployResult(namespace, name, version, True, f"serving version {version}")


def repair(target: Target) -> None:
    """Undo what an interrupted canary or shadow left: the route back to the stable
    Service alone, a canary Deployment that still runs pods deleted."""
    if target.route is not None and not target.route.state().clean:
        print(f"deploy: httproute {target.route.name} still sent traffic to the canary; "
              "every request goes to the stable Service again")  # fmt: skip
        target.route.reset()
    leftover = read_canary(target.apps, target.deployment, target.namespace)
    if leftover is not None and (leftover.spec.replicas or 0) > 0:
        print(f"deploy: removing the canary {leftover.metadata.name} an earlier run left")
        delete_canary(target.apps, target.deployment, target.namespace)


def wait_for_rollout(target: Target, name: str) -> None:
    """Poll the Deployment until its rollout is done.

    Raises:
        TimeoutError: not done within the target's timeout, or the progress deadline passed.
    """
    deadline = time.monotonic() + target.timeout_s
    last = ""
    while True:
        status = rollout_status(target.read(name))
        if status.done:
            print(f"deploy: {name}: {status.message}")
            return
        if status.failed:
            raise TimeoutError(status.message)
        if status.message != last:
            print(f"deploy: {name}: {status.message}", flush=True)
            last = status.message
        if time.monotonic() > deadline:
            raise TimeoutError(f"rollout not done after {target.timeout_s:.0f}s: {status.message}")
        time.sleep(1)


def _route_exists(route: Route, strategy: str) -> bool:
    """Whether the route exists; canary and shadow cannot run without it."""
    try:
        route.read()
    except NotFound as err:
        if strategy == "rolling":
            return False
        raise StepError(f"strategy {strategy}: {err}") from err
    return True
