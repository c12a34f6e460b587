"""When is a rollout done? The rules of ``kubectl rollout status``, as a pure function."""

from dataclasses import dataclass

from kubernetes.client import V1Deployment


@dataclass(frozen=True)
class RolloutStatus:
    """Where a Deployment's rollout stands."""

    done: bool
    failed: bool
    message: str


def rollout_status(deployment: V1Deployment) -> RolloutStatus:
    """Judge a Deployment the way ``kubectl rollout status`` does.

    Done when the controller has seen the latest spec (observedGeneration), every
    replica runs the new template (updated), no old replica is left, and all
    updated replicas are available. Failed when the progress deadline passed.
    """
    spec, status = deployment.spec, deployment.status
    if status is None or (status.observed_generation or 0) < deployment.metadata.generation:
        return RolloutStatus(False, False, "waiting for the deployment spec update to be observed")
    for condition in status.conditions or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return RolloutStatus(False, True, f"progress deadline exceeded: {condition.message}")
    wanted = spec.replicas if spec.replicas is not None else 1
    updated = status.updated_replicas or 0
    total = status.replicas or 0
    available = status.available_replicas or 0
    if updated < wanted:
        return RolloutStatus(False, False, f"{updated} of {wanted} new replicas updated")
    if total > updated:
        return RolloutStatus(False, False, f"{total - updated} old replicas pending termination")
    if available < updated:
        return RolloutStatus(False, False, f"{available} of {updated} updated replicas available")
    return RolloutStatus(True, False, f"rolled out: {updated} replicas available")
