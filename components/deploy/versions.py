"""Which model version a pod template serves: pinned in the predictor container's
environment (``PREDICTOR_MODEL_VERSION_POLICY=specific:<N>``, the env form of the
predictor's ``--model-version-policy`` flag) and mirrored in a pod-template annotation
for ``kubectl describe``.

Pinning (rather than letting pods pick "the latest") keeps every replica, and every pod
the autoscaler adds later, on the version that was tested.
"""

from __future__ import annotations

import copy

from kubernetes.client import V1Deployment

from components.errors import StepError

VERSION_ENV = "PREDICTOR_MODEL_VERSION_POLICY"
PINNED = "specific:"
VERSION_ANNOTATION = "imgclf.dev/model-version"


def pinned_version(deployment: V1Deployment, container: str) -> int | None:
    """The version pinned in the container's environment, or None."""
    for env in _container(deployment, container).env or []:
        value = env.value or ""
        if env.name == VERSION_ENV and value.startswith(PINNED) and value[len(PINNED) :].isdigit():
            return int(value[len(PINNED) :])
    return None


def pin_version(template: dict, container: str, version: int) -> dict:
    """A copy of ``template`` (a pod template as the API serializes it) serving
    ``version``: the container's env entry set in place or appended, the annotation set."""
    template = copy.deepcopy(template)
    names = [c["name"] for c in template["spec"]["containers"]]
    if container not in names:
        raise StepError(f"the pod template has no container {container!r} (it has {names})")
    target = template["spec"]["containers"][names.index(container)]
    entry = {"name": VERSION_ENV, "value": f"{PINNED}{version}"}
    env = [e for e in target.get("env", []) if e["name"] != VERSION_ENV]
    at = next((i for i, e in enumerate(target.get("env", [])) if e["name"] == VERSION_ENV), None)
    env.insert(len(env) if at is None else at, entry)
    target["env"] = env
    metadata = template.setdefault("metadata", {})
    metadata.setdefault("annotations", {})[VERSION_ANNOTATION] = str(version)
    return template


def _container(deployment: V1Deployment, name: str):
    for container in deployment.spec.template.spec.containers:
        if container.name == name:
            return container
    names = [c.name for c in deployment.spec.template.spec.containers]
    raise StepError(
        f"deployment {deployment.metadata.name} has no container {name!r} (it has {names})"
    )
