"""The predictor's HTTPRoute and GRPCRoute as the deploy step moves traffic: weights for a
canary, a mirror for a shadow, and back to the stable Service alone.

The HTTPRoute is required. The GRPCRoute of the same name (k8s/base/grpcroute.yaml) is
optional: where it exists, a canary's weights apply to it too, so gRPC clients reach the
canary in the same share; a shadow mirrors HTTP only (gRPC requests stay on stable).

Only the rules that send to the stable Service are touched, and only their backends (and,
for a Gateway API mirror, their RequestMirror filter); everything else on a route stays
as applied. Each change is a merge patch carrying the route's resourceVersion, so a
concurrent edit makes it fail instead of being overwritten.

Mirroring comes two ways:

* ``gateway-api``: the standard ``RequestMirror`` filter with ``percent`` (Gateway API
  v1.3+; Envoy Gateway, Istio, NGINX Gateway Fabric and others implement it).
* ``traefik``: Traefik does not implement ``RequestMirror`` (its Gateway API conformance
  reports list it as unsupported), so the rule's backend becomes the TraefikService
  ``<service>-mirror`` (k8s/overlays/local/mirror.yaml), whose mirroring sends ``percent``
  of the requests to the canary Service too, and the step sets that percent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from kubernetes.client import ApiClient, CustomObjectsApi

from components.deploy.kube import NotFound, call
from components.errors import StepError

GATEWAY = ("gateway.networking.k8s.io", "v1", "httproutes")
GRPC = ("gateway.networking.k8s.io", "v1", "grpcroutes")
TRAEFIK = ("traefik.io", "v1alpha1", "traefikservices")
MIRRORS = ("gateway-api", "traefik")


@dataclass(frozen=True)
class RouteState:
    """Where the route sends traffic now."""

    canary_weight: int  # percent of requests to the canary Service
    mirroring: bool  # a mirror to the canary (filter or TraefikService) is in place

    @property
    def clean(self) -> bool:
        return self.canary_weight == 0 and not self.mirroring


class Route:
    """The HTTPRoute ``name`` in ``namespace`` (and the GRPCRoute ``name``, where there is
    one) and the two Services they may send to."""

    def __init__(self, api_client: ApiClient, name: str, namespace: str, stable: str,
                 canary: str, port: int = 80) -> None:  # fmt: skip
        self.api = CustomObjectsApi(api_client)
        self.name, self.namespace = name, namespace
        self.stable, self.canary, self.port = stable, canary, port
        self.mirror_service = f"{stable}-mirror"

    def read(self) -> dict:
        """The route; :class:`~components.deploy.kube.NotFound` when it does not exist."""
        return self._get(GATEWAY, self.name)

    def read_grpc(self) -> dict | None:
        """The GRPCRoute, or None when there is none."""
        try:
            return self._get(GRPC, self.name)
        except NotFound:
            return None

    def state(self) -> RouteState:
        weight, mirroring = 0, False
        grpc = self.read_grpc()
        for rule in self._rules(self.read()) + (self._rules(grpc) if grpc else []):
            for ref in rule.get("backendRefs", []):
                if ref.get("name") == self.canary and ref.get("kind", "Service") == "Service":
                    weight = max(weight, int(ref.get("weight", 1)))
                if ref.get("kind") == "TraefikService" and ref.get("name") == self.mirror_service:
                    mirroring = True
            mirroring |= any(_mirrors_to(f, self.canary) for f in rule.get("filters", []))
        return RouteState(weight, mirroring)

    def set_weight(self, weight: int) -> None:
        """Send ``weight`` percent of the requests (HTTP and gRPC) to the canary, the rest
        to stable."""
        self._update(lambda rule: self._weighted(rule, weight))
        self._update_grpc(weight)

    def mirror(self, percent: int, via: str) -> None:
        """Mirror ``percent`` of the HTTP requests to the canary; answers still come from
        stable, and gRPC requests go to stable alone."""
        self._update_grpc(0)
        if via == "traefik":
            self._set_traefik_mirror(percent)
            ref = {"group": "traefik.io", "kind": "TraefikService", "name": self.mirror_service}
            self._update(lambda rule: {**self._weighted(rule, 0), "backendRefs": [ref]})
        else:
            target = {"name": self.canary, "port": self.port}
            mirror = {"type": "RequestMirror",
                      "requestMirror": {"backendRef": target, "percent": percent}}  # fmt: skip
            self._update(lambda rule: _with_filter(self._weighted(rule, 0), mirror))

    def reset(self) -> None:
        """Every request to the stable Service alone: no weight, no mirror."""
        self._update(lambda rule: self._weighted(rule, 0))
        self._update_grpc(0)

    def _weighted(self, rule: dict, weight: int) -> dict:
        """``rule`` sending ``weight`` percent to the canary (0: stable only, no mirror)."""
        stable = next(
            (r for r in rule.get("backendRefs", []) if _is_service(r, self.stable)),
            {"name": self.stable, "port": self.port},
        )
        stable = {k: v for k, v in stable.items() if k != "weight"}
        rule = copy.deepcopy(rule)
        filters = [f for f in rule.pop("filters", []) if not _mirrors_to(f, self.canary)]
        if filters:
            rule["filters"] = filters
        if weight == 0:
            rule["backendRefs"] = [stable]
        else:
            canary = {**stable, "name": self.canary}
            rule["backendRefs"] = [{**stable, "weight": 100 - weight}, {**canary, "weight": weight}]
        return rule

    def _rules(self, route: dict) -> list[dict]:
        """The rules that send to the stable Service (or to its mirror, or its canary)."""
        names = {self.stable, self.canary, self.mirror_service}
        return [
            r for r in route.get("spec", {}).get("rules", [])
            if any(ref.get("name") in names for ref in r.get("backendRefs", []))
        ]  # fmt: skip

    def _update(self, change) -> None:
        route = self.read()
        if not self._rules(route):
            raise StepError(
                f"httproute {self.name} in {self.namespace} has no rule sending to "
                f"Service {self.stable}"
            )
        self._patch(GATEWAY, self.name, self._changed(route, change))

    def _update_grpc(self, weight: int) -> None:
        """The GRPCRoute's rules that send to stable, weighted as the HTTPRoute's; nothing
        when there is no GRPCRoute or none of its rules sends to stable."""
        route = self.read_grpc()
        if route is None or not self._rules(route):
            return
        changed = self._changed(route, lambda rule: self._weighted(rule, weight))
        if changed["spec"]["rules"] != route["spec"]["rules"]:
            self._patch(GRPC, self.name, changed)

    def _changed(self, route: dict, change) -> dict:
        """A merge patch of ``route`` with ``change`` applied to the rules that are ours."""
        mine = {id(r) for r in self._rules(route)}
        rules = route["spec"]["rules"]
        return {
            "metadata": {"resourceVersion": route["metadata"]["resourceVersion"]},
            "spec": {"rules": [change(r) if id(r) in mine else r for r in rules]},
        }

    def _set_traefik_mirror(self, percent: int) -> None:
        service = self._get(TRAEFIK, self.mirror_service)
        mirroring = service["spec"]["mirroring"]
        mirrors = [m for m in mirroring.get("mirrors", []) if m.get("name") != self.canary]
        mirrors.append({"name": self.canary, "port": self.port, "percent": percent})
        body = {
            "metadata": {"resourceVersion": service["metadata"]["resourceVersion"]},
            "spec": {"mirroring": {**mirroring, "mirrors": mirrors}},
        }
        self._patch(TRAEFIK, self.mirror_service, body)

    def _get(self, kind: tuple[str, str, str], name: str) -> dict:
        group, version, plural = kind
        return call("get", f"{plural}.{group}", name, self.namespace,
                    lambda: self.api.get_namespaced_custom_object(
                        group, version, self.namespace, plural, name))  # fmt: skip

    def _patch(self, kind: tuple[str, str, str], name: str, body: dict) -> None:
        group, version, plural = kind
        call("patch", f"{plural}.{group}", name, self.namespace,
             lambda: self.api.patch_namespaced_custom_object(
                 group, version, self.namespace, plural, name, body))  # fmt: skip


def _is_service(ref: dict, name: str) -> bool:
    return ref.get("name") == name and ref.get("kind", "Service") == "Service"


def _mirrors_to(rule_filter: dict, service: str) -> bool:
    mirror = rule_filter.get("requestMirror") or {}
    return rule_filter.get("type") == "RequestMirror" and (
        mirror.get("backendRef", {}).get("name") == service
    )


def _with_filter(rule: dict, rule_filter: dict) -> dict:
    return {**rule, "filters": [*rule.get("filters", []), rule_filter]}
