"""Render kustomize overlays and check them offline; `make lint-k8s` and the tests run this.

    python scripts/check_manifests.py [--out DIR] k8s/overlays/local k8s/overlays/gke

For each overlay: render it with kustomize, validate every object strictly against the
Kubernetes API schemas of the release the cluster tests run (kubernetes-validate: unknown
fields, wrong types, missing required fields, an apiVersion the release does not serve),
check what schemas cannot see (selectors that match no pods, probes on undeclared ports),
and lint security and reliability with kube-score. Prints one line per problem, naming
the overlay and object, and exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(os.environ.get("K8S_TOOLS_BIN", ROOT / "build" / "tools" / "bin"))
KUBE_SCORE_OPTIONAL = [
    "container-seccomp-profile",
    "container-memory-requests-equal-limits",
    "container-ports-check",
]

# API groups defined by CRDs (Gateway API, Traefik): no built-in schema knows them; the
# cluster tests' server-side apply validates them against the installed CRDs.
CRD_GROUPS = {"gateway.networking.k8s.io", "traefik.io"}
# Kinds used here that are not namespaced; everything else must carry a namespace.
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}
# On every object (k8s/base/kustomization.yaml `labels`), so `-l` finds the whole install.
COMMON_LABELS = {"app.kubernetes.io/part-of": "imgclf", "app.kubernetes.io/managed-by": "kustomize"}

Manifest = dict[str, Any]


class ToolMissing(RuntimeError):
    """A binary from scripts/install_k8s_lint_tools.sh is not installed."""


def kubernetes_release() -> str:
    """The Kubernetes minor the cluster tests build (tools/k8s/go.mod), e.g. ``1.36.0``."""
    match = re.search(r"k8s\.io/kubernetes v1\.(\d+)\.", (ROOT / "tools/k8s/go.mod").read_text())
    if not match:
        raise RuntimeError("tools/k8s/go.mod: no k8s.io/kubernetes requirement")
    return f"1.{match.group(1)}.0"


def tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not os.access(path, os.X_OK):
        raise ToolMissing(f"{path} not found: run `make k8s-lint-tools`")
    return path


def render(overlay: Path) -> str:
    """The overlay's objects as one YAML stream (``kustomize build``)."""
    result = subprocess.run(
        [tool("kustomize"), "build", str(overlay)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ValueError(f"kustomize build {overlay} failed: {result.stderr.strip()}")
    return result.stdout


def name_of(obj: Manifest) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def schema_errors(objects: Iterable[Manifest], release: str) -> list[str]:
    """Strict schema validation: each object against the release's OpenAPI schema."""
    errors = []
    for obj in objects:
        if str(obj.get("apiVersion", "")).split("/")[0] in CRD_GROUPS:
            continue
        try:
            kubernetes_validate.validate(obj, release, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(
                f"{name_of(obj)}: apiVersion {obj.get('apiVersion')} kind {obj.get('kind')} "
                f"is not served by Kubernetes {release} (wrong or removed apiVersion)"
            )
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path) or "(top level)"
            errors.append(f"{name_of(obj)}: {where}: {e.message}")
    return errors


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def consistency_errors(objects: list[Manifest]) -> list[str]:
    """What the API server accepts but leaves broken: namespaces, labels, selectors, ports."""
    errors = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") not in CLUSTER_SCOPED and not meta.get("namespace"):
            errors.append(
                f"{name_of(obj)}: no metadata.namespace: it would land in whatever namespace "
                "kubectl defaults to (set `namespace:` in the kustomization that adds it)"
            )
        for key, value in COMMON_LABELS.items():
            if (meta.get("labels") or {}).get(key) != value:
                errors.append(f"{name_of(obj)}: label {key}={value} missing")
    pod_labels = []  # labels of each workload's pod template
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        template = obj["spec"]["template"]
        labels = template.get("metadata", {}).get("labels", {})
        pod_labels.append(labels)
        # The deploy step's canary of this Deployment: the same template, component canary.
        pod_labels.append({**labels, "app.kubernetes.io/component": "canary"})
        selector = obj["spec"].get("selector", {}).get("matchLabels", {})
        if not _matches(selector, labels):
            errors.append(
                f"{name_of(obj)}: spec.selector.matchLabels {selector} does not match the "
                f"pod template's labels {labels}: the Deployment would own no pods"
            )
        for c in template["spec"].get("containers", []):
            declared = {p.get("name") for p in c.get("ports", []) if p.get("name")}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                action = (c.get(probe) or {}).get("httpGet") or (c.get(probe) or {}).get(
                    "tcpSocket"
                )
                port = (action or {}).get("port")
                if isinstance(port, str) and port not in declared:
                    errors.append(
                        f"{name_of(obj)}: container {c['name']} {probe} uses port "
                        f"'{port}', which is not one of its named ports {sorted(declared)}"
                    )
                # A gRPC probe takes a number only: one the container does not declare is
                # most likely a port nothing listens on.
                grpc_port = ((c.get(probe) or {}).get("grpc") or {}).get("port")
                numbers = sorted(p["containerPort"] for p in c.get("ports", []))
                if isinstance(grpc_port, int) and grpc_port not in numbers:
                    errors.append(
                        f"{name_of(obj)}: container {c['name']} {probe} (grpc) uses port "
                        f"{grpc_port}, which is not one of its container ports {numbers}"
                    )
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Service":
            selector = obj["spec"].get("selector", {})
        elif kind in ("PodDisruptionBudget", "NetworkPolicy"):
            spec_key = "podSelector" if kind == "NetworkPolicy" else "selector"
            selector = obj["spec"].get(spec_key, {}).get("matchLabels", {})
        else:
            continue
        if not any(_matches(selector, labels) for labels in pod_labels):
            errors.append(f"{name_of(obj)}: selector {selector} matches no pod template here")
    return errors


def kube_score_errors(rendered: str) -> list[str]:
    """kube-score's criticals and warnings; waivers live on the objects (kube-score/ignore)."""
    args = [tool("kube-score"), "score", "--output-format", "ci", "-"]
    for test in KUBE_SCORE_OPTIONAL:
        args[2:2] = ["--enable-optional-test", test]
    result = subprocess.run(args, input=rendered, capture_output=True, text=True, check=False)
    lines = result.stdout.splitlines()
    bad = [line for line in lines if line.startswith(("[CRITICAL]", "[WARNING]"))]
    if result.returncode not in (0, 1) or (result.returncode == 1 and not bad):
        bad.append(f"kube-score failed: {result.stderr.strip() or result.stdout.strip()}")
    return [f"kube-score {line}" for line in bad]


def check(overlay: Path, release: str, out_dir: Path | None = None) -> list[str]:
    """Every problem in one overlay, each prefixed with the overlay's path."""
    try:
        rendered = render(overlay)
    except ValueError as e:
        return [str(e)]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{overlay.name}.yaml").write_text(rendered)
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    errors = schema_errors(objects, release)
    errors += consistency_errors(objects)
    errors += kube_score_errors(rendered)
    return [f"{overlay}: {e}" for e in errors]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("overlays", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="also write each rendering to DIR/<name>.yaml")
    args = parser.parse_args(argv)
    release = kubernetes_release()
    failed = False
    for overlay in args.overlays:
        try:
            errors = check(overlay, release, args.out)
        except ToolMissing as e:
            print(f"check_manifests: {e}", file=sys.stderr)
            return 2
        for error in errors:
            print(error, file=sys.stderr)
        failed = failed or bool(errors)
        if not errors:
            print(f"ok: {overlay} (Kubernetes {release} schemas, selectors, probes, kube-score)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
