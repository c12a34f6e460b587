"""The one canary Deployment (``<stable>-canary``): made from the stable Deployment's pod
template with the new version pinned, its pods labelled ``app.kubernetes.io/component:
canary`` so that the stable Service (``component: serving``) never selects them and the
canary Service (k8s/base/service-canary.yaml) selects only them.

The step creates it, scales it to zero after a promotion, and deletes it after a failure
or when it finds one left behind by an interrupted run.
"""

from __future__ import annotations

import copy

from kubernetes.client import AppsV1Api, V1Deployment

from components.deploy.kube import NotFound, call
from components.deploy.versions import pin_version

COMPONENT = "app.kubernetes.io/component"
CANARY = "canary"
CANARY_OF = "imgclf.dev/canary-of"
RESOURCE = "deployments.apps"


def canary_name(stable: str) -> str:
    return f"{stable}-canary"


def canary_manifest(apps: AppsV1Api, stable: V1Deployment, container: str, version: int,
                    replicas: int) -> dict:  # fmt: skip
    """The canary Deployment for ``version``: the stable's pod template, settings and
    strategy, its own name, selector and component label, ``replicas`` pods."""
    source = apps.api_client.sanitize_for_serialization(stable)
    name = stable.metadata.name
    template = pin_version(source["spec"]["template"], container, version)
    template["metadata"]["labels"][COMPONENT] = CANARY
    for constraint in template["spec"].get("topologySpreadConstraints", []):
        labels = constraint.get("labelSelector", {}).get("matchLabels", {})
        if COMPONENT in labels:
            labels[COMPONENT] = CANARY
    selector = copy.deepcopy(source["spec"]["selector"])
    selector.setdefault("matchLabels", {})[COMPONENT] = CANARY
    kept = ("strategy", "revisionHistoryLimit", "progressDeadlineSeconds", "minReadySeconds")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": canary_name(name),
            "namespace": stable.metadata.namespace,
            "labels": {**(stable.metadata.labels or {}), COMPONENT: CANARY},
            "annotations": {CANARY_OF: name},
        },
        "spec": {
            **{k: source["spec"][k] for k in kept if k in source["spec"]},
            "replicas": replicas,
            "selector": selector,
            "template": template,
        },
    }


def read_canary(apps: AppsV1Api, stable: str, namespace: str) -> V1Deployment | None:
    name = canary_name(stable)
    try:
        return call("get", RESOURCE, name, namespace,
                    lambda: apps.read_namespaced_deployment(name, namespace))  # fmt: skip
    except NotFound:
        return None


def create_canary(apps: AppsV1Api, manifest: dict) -> None:
    """Create the canary Deployment, or give the one a promotion scaled to zero this spec."""
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    if read_canary(apps, manifest["metadata"]["annotations"][CANARY_OF], namespace) is None:
        call("create", RESOURCE, name, namespace,
             lambda: apps.create_namespaced_deployment(namespace, manifest))  # fmt: skip
        return
    patch = [
        {"op": "replace", "path": "/spec", "value": manifest["spec"]},
        {"op": "replace", "path": "/metadata/labels", "value": manifest["metadata"]["labels"]},
    ]
    call("patch", RESOURCE, name, namespace,
         lambda: apps.patch_namespaced_deployment(name, namespace, patch))  # fmt: skip


def delete_canary(apps: AppsV1Api, stable: str, namespace: str) -> bool:
    """Delete the canary Deployment and its pods; False when there was none."""
    name = canary_name(stable)
    try:
        call("delete", RESOURCE, name, namespace,
             lambda: apps.delete_namespaced_deployment(
                 name, namespace, propagation_policy="Background"))  # fmt: skip
    except NotFound:
        return False
    return True


def scale_canary(apps: AppsV1Api, stable: str, namespace: str, replicas: int) -> None:
    name = canary_name(stable)
    call("patch", RESOURCE, name, namespace,
         lambda: apps.patch_namespaced_deployment(
             name, namespace, {"spec": {"replicas": replicas}}))  # fmt: skip
