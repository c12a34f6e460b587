"""The canary strategy: a second Deployment serves the new version, the route's weights move
traffic to it step by step, and each step is judged on the pods' own metrics.

1. ``<stable>-canary`` is created from the stable pod template (canary_deployment.py),
   rolled out and smoke-tested through its Service, before it gets any traffic.
2. For each step: the route sends that percent to the canary; the stable and canary pods'
   /metrics are scraped when the step starts and after its wait; the canary passes when
   it answered enough requests and its 5xx rate and p99 stay within the bounds of
   :class:`~components.deploy.params.CanaryParams` against the stable pods' over the same
   window. A step where stable got too few requests to compare (100%) is judged against
   the last window where it had enough.
3. Success: the stable Deployment rolls onto the version, the route goes back to the
   stable Service alone, the canary is scaled to zero.
   Failure (a check, a scrape that fails, a rollout or smoke test): the route goes back at
   once, the canary is deleted, and the step fails with the figures.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from kubernetes.client import V1Deployment

from components.deploy.canary_deployment import (
    CANARY,
    COMPONENT,
    canary_name,
)
from components.deploy.deploy import DeployResult, Target
from components.deploy.kube import call
from components.deploy.params import CanaryParams
from components.deploy.podmetrics import (
    Figures,
    ScrapeError,
    Snapshot,
    metrics_port,
    pods_by_name,
    scrape,
    window,
)
from components.deploy.smoke import SmokeCase, SmokeTestError
from components.deploy.versions import pinned_version


class CanaryCheckFailed(Exception):
    """A step's figures were out of bounds."""


@dataclass(frozen=True)
class StepReport:
    """One step: its weight, when it ran (``time.monotonic()``), both sides' figures."""

    weight: int
    started: float
    ended: float
    stable: dict
    canary: dict
    failed: tuple[str, ...]


def run_canary(target: Target, current: V1Deployment, case: SmokeCase, model_name: str,
               version: int, params: CanaryParams) -> DeployResult:  # fmt: skip
    previous = pinned_version(current, target.container)
    name, namespace = target.deployment, target.namespace
    assert target.route is not None
    canary = canary_name(name)
    print(f"deploy: canary {namespace}/{canary}: version {version} (stable serves {previous}); "
          f"steps {', '.join(f'{w}%' for w in params.steps)}")  # fmt: skip
    steps: list[StepReport] = []
    weight = 0
    try:
        target.start_canary(current, case, model_name, version, params.replicas)
        reference: Figures | None = None
        for weight in params.steps:
            step = _run_step(target, current, model_name, weight, params, reference)
            steps.append(step)
            if step.stable["requests"] >= params.min_requests:
                reference = Figures(**step.stable)
            if step.failed:
                raise CanaryCheckFailed("; ".join(step.failed))
    except (TimeoutError, SmokeTestError, ScrapeError, CanaryCheckFailed) as err:
        where = f"at {weight}%" if weight else "before any traffic"
        print(f"deploy: canary failed {where}: {err}; every request goes to version "
              f"{previous} again and the canary is deleted")  # fmt: skip
        raise target.abandon("canary", version, previous, f"{where} ({err})") from err
    print(f"deploy: canary passed every step; promoting version {version}")
    target.promote(current, case, model_name, version)
    return DeployResult(namespace, name, version, True, f"serving version {version} (canary)",
                        "canary", {"steps": [asdict(s) for s in steps]})  # fmt: skip


def judge(canary: Figures, stable: Figures | None, params: CanaryParams) -> list[str]:
    """The checks the canary failed (empty: it passed), each with its figures and bound."""
    failed = []
    if canary.requests < params.min_requests:
        failed.append(f"canary answered {canary.requests} requests, fewer than "
                      f"{params.min_requests}: not enough traffic to judge")  # fmt: skip
    if stable is None or stable.requests < params.min_requests:
        got = 0 if stable is None else stable.requests
        failed.append(f"stable answered {got} requests, fewer than {params.min_requests}: "
                      "nothing to compare with")  # fmt: skip
        return failed
    bound = stable.error_rate + params.max_error_rate_increase
    if canary.error_rate > bound:
        increase = params.max_error_rate_increase
        failed.append(f"canary 5xx rate {canary.error_rate:.1%} > {bound:.1%} "
                      f"(stable {stable.error_rate:.1%} + {increase:.1%})")  # fmt: skip
    if canary.p99_s is not None and stable.p99_s is not None:
        limit = stable.p99_s * params.max_p99_ratio + params.p99_margin_ms / 1000
        if canary.p99_s > limit:
            failed.append(f"canary p99 {canary.p99_s * 1000:.0f} ms > {limit * 1000:.0f} ms "
                          f"(stable {stable.p99_s * 1000:.0f} ms x {params.max_p99_ratio:g} + "
                          f"{params.p99_margin_ms:g} ms)")  # fmt: skip
    return failed


def _run_step(target: Target, current: V1Deployment, model_name: str, weight: int,
              params: CanaryParams, reference: Figures | None) -> StepReport:  # fmt: skip
    assert target.route is not None
    target.route.set_weight(weight)
    started = time.monotonic()
    print(f"deploy: {weight}% of requests to the canary; judging after {params.step_wait_s:g}s",
          flush=True)  # fmt: skip
    port = metrics_port(current, target.container)

    def snapshot(component: str) -> Snapshot:
        # Listed at each snapshot: pods the autoscaler adds in the window count from zero.
        pods = _pods(target, current, component)
        return scrape(pods, model_name, port, relist=lambda: _pods(target, current, component))

    before = snapshot(""), snapshot(CANARY)
    time.sleep(params.step_wait_s)
    after = snapshot(""), snapshot(CANARY)
    stable, canary = window(before[0], after[0]), window(before[1], after[1])
    compare = stable if stable.requests >= params.min_requests else reference
    failed = judge(canary, compare, params)
    verdict = "failed: " + "; ".join(failed) if failed else "passed"
    print(f"deploy: {weight}%: canary {canary.describe()}; stable {stable.describe()}; {verdict}")
    return StepReport(weight, started, time.monotonic(), asdict(stable), asdict(canary),
                      tuple(failed))  # fmt: skip


def _pods(target: Target, current: V1Deployment, component: str) -> dict[str, str]:
    """The stable Deployment's pods, or (``component`` canary) the canary's, name -> IP."""
    labels = dict(current.spec.selector.match_labels or {})
    if component:
        labels[COMPONENT] = component
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    core, namespace = target.core, target.namespace
    pods = call("list", "pods", selector, namespace,
                lambda: core.list_namespaced_pod(namespace, label_selector=selector))  # fmt: skip
    found = pods_by_name(pods.items)
    if not found:
        raise ScrapeError(f"no running pod matches {selector}: nothing to scrape")
    return found
