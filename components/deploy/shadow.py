"""The shadow strategy: the new version sees a mirrored share of live traffic, its answers
are discarded by the gateway, and it is promoted only if it agrees with the stable one.

1. ``<stable>-canary`` is created from the stable pod template (it inherits the stable
   pods' prediction logging), rolled out and smoke-tested through its Service.
2. The route mirrors ``percent`` of requests to it for ``duration_s`` (route.py: the
   Gateway API RequestMirror filter, or Traefik's mirroring service), then goes back to
   the stable Service alone.
3. After the predictors' log flush interval, both versions' prediction logs for the window
   are paired image by image (agreement.py): the share of identical top-1 labels and the
   probability deltas must clear :class:`~components.deploy.params.ShadowParams`' bounds.
4. Pass: the stable Deployment rolls onto the version and the shadow is scaled to zero.
   Fail: the shadow is deleted and the step fails with the figures.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime

from kubernetes.client import V1Deployment

from components.deploy.agreement import check_agreement, compare_versions
from components.deploy.canary_deployment import (
    canary_name,
)
from components.deploy.deploy import DeployResult, Target
from components.deploy.params import ShadowParams
from components.deploy.smoke import SmokeCase, SmokeTestError
from components.deploy.versions import pinned_version
from components.errors import StepError


def run_shadow(target: Target, current: V1Deployment, case: SmokeCase, model_name: str,
               version: int, params: ShadowParams) -> DeployResult:  # fmt: skip
    previous = pinned_version(current, target.container)
    name, namespace = target.deployment, target.namespace
    if previous is None:
        raise StepError(f"{namespace}/{name} pins no version: nothing to compare a shadow with")
    assert target.route is not None
    shadow = canary_name(name)
    print(f"deploy: shadow {namespace}/{shadow}: version {version} sees {params.percent}% of "
          f"the requests to version {previous} for {params.duration_s:g}s")  # fmt: skip
    try:
        target.start_canary(current, case, model_name, version, params.replicas)
        since, mirror_started = datetime.now(UTC), time.monotonic()
        target.route.mirror(params.percent, params.mirror)
        try:
            time.sleep(params.duration_s)
        finally:
            target.route.reset()
        until, mirror_ended = datetime.now(UTC), time.monotonic()
        wait = params.log_flush_s
        print(f"deploy: mirroring stopped; reading the prediction logs in {wait:g}s", flush=True)
        time.sleep(wait)
        agreement = compare_versions(params.prediction_log_uri, model_name, previous, version,
                                     since, until)  # fmt: skip
        print(f"deploy: shadow: {agreement.summary()}")
        failed = check_agreement(agreement, params.min_agreement, params.max_delta,
                                 params.min_pairs)  # fmt: skip
        if failed:
            raise ShadowDisagrees("; ".join(failed))
    except (TimeoutError, SmokeTestError, ShadowDisagrees, StepError) as err:
        raise target.abandon("shadow", version, previous, f"({err})") from err
    print(f"deploy: shadow agreed with version {previous}; promoting version {version}")
    target.promote(current, case, model_name, version)
    return DeployResult(namespace, name, version, True, f"serving version {version} (shadow)",
                        "shadow", {"agreement": asdict(agreement), "mirror_started": mirror_started,
                                   "mirror_ended": mirror_ended})  # fmt: skip


class ShadowDisagrees(Exception):
    """The shadow's answers were too far from the stable version's."""
