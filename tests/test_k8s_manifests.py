"""Every kustomize overlay renders and passes the offline checks (scripts/check_manifests.py:
strict API schemas, selectors, probe ports, namespaces, kube-score); broken manifests fail
with a message that names the overlay, the object and the problem."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from k8s_cluster import ROOT, check_manifests, require_tools

OVERLAYS = sorted(p.name for p in (ROOT / "k8s" / "overlays").iterdir() if p.is_dir())
BASE = ROOT / "k8s" / "base"


@pytest.fixture(autouse=True)
def _tools():
    require_tools("kustomize", "kube-score")


@pytest.fixture(scope="module")
def release() -> str:
    return check_manifests.kubernetes_release()


def test_there_are_overlays_for_local_and_gke():
    assert {"local", "gke"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_every_check(overlay, release):
    assert check_manifests.check(ROOT / "k8s" / "overlays" / overlay, release) == []


def _overlay(tmp_path: Path, kustomization: str, files: dict[str, str] | None = None) -> Path:
    """A throwaway overlay on top of k8s/base: its files (each one also listed as a resource)
    plus the given kustomization lines (patches)."""
    resources = [os.path.relpath(BASE, tmp_path), *(files or {})]
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n" + "".join(f"  - {r}\n" for r in resources) + textwrap.dedent(kustomization)
    )
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def _json_patch(op: str) -> str:
    return f"""\
    patches:
      - target: {{kind: Deployment, name: predictor}}
        patch: |-
          {op}
    """


OLD_PDB = """\
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: old, namespace: imgclf, labels: {app.kubernetes.io/part-of: imgclf}}
spec: {maxUnavailable: 1, selector: {matchLabels: {app.kubernetes.io/name: predictor}}}
"""

BROKEN = {
    "wrong apiVersion": (
        "",
        {"old-pdb.yaml": OLD_PDB},
        "PodDisruptionBudget/old: apiVersion policy/v1beta1 kind PodDisruptionBudget is not "
        "served by Kubernetes",
    ),
    "selector that misses the pods": (
        _json_patch('[{"op": "add", "path": "/spec/selector/matchLabels/tier", "value": "web"}]'),
        {},
        "'tier': 'web'} does not match the pod template's labels",
    ),
    "probe without a port": (
        _json_patch(
            '[{"op": "remove", '
            '"path": "/spec/template/spec/containers/0/readinessProbe/grpc/port"}]'
        ),
        {},
        "Deployment/predictor: spec.template.spec.containers.0.readinessProbe.grpc: "
        "'port' is a required property",
    ),
    "gRPC probe on an undeclared port": (
        _json_patch(
            '[{"op": "replace", '
            '"path": "/spec/template/spec/containers/0/readinessProbe/grpc/port", '
            '"value": 9000}]'
        ),
        {},
        "Deployment/predictor: container predictor readinessProbe (grpc) uses port 9000, "
        "which is not one of its container ports [8500, 8501]",
    ),
    "probe on an undeclared port": (
        _json_patch(
            '[{"op": "replace", '
            '"path": "/spec/template/spec/containers/0/livenessProbe/httpGet/port", '
            '"value": "metrics"}]'
        ),
        {},
        "Deployment/predictor: container predictor livenessProbe uses port 'metrics', which is "
        "not one of its named ports ['grpc', 'http']",
    ),
    "unknown field": (
        _json_patch(
            '[{"op": "add", "path": "/spec/template/spec/containers/0/readinessProbe/prot", '
            '"value": 1}]'
        ),
        {},
        "Additional properties are not allowed ('prot' was unexpected)",
    ),
    "writable root filesystem": (
        _json_patch(
            '[{"op": "replace", "path": '
            '"/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem", '
            '"value": false}]'
        ),
        {},
        "kube-score [CRITICAL] predictor/imgclf apps/v1/Deployment: (predictor) The pod has a "
        "container with a writable root filesystem",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifest_is_reported_clearly(tmp_path, release, case):
    kustomization, files, message = BROKEN[case]
    overlay = _overlay(tmp_path, kustomization, files)
    errors = check_manifests.check(overlay, release)
    assert any(message in e for e in errors), errors
    assert all(e.startswith(f"{overlay}: ") for e in errors)


def test_object_added_without_namespace_is_reported(tmp_path, release):
    # The bug the real cluster test first caught: an overlay's own objects do not get the
    # base's namespace, so a claim landed in `default`.
    claim = """\
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: extra, labels: {app.kubernetes.io/part-of: imgclf}}
    spec: {accessModes: [ReadOnlyMany], resources: {requests: {storage: 1Gi}}}
    """
    overlay = _overlay(tmp_path, "", {"claim.yaml": claim})
    errors = check_manifests.check(overlay, release)
    assert any("PersistentVolumeClaim/extra: no metadata.namespace" in e for e in errors), errors


def test_command_line_fails_with_the_messages(tmp_path):
    # What `make lint-k8s` runs: exit 1 and one line per problem on stderr.
    overlay = _overlay(tmp_path, "", {"old-pdb.yaml": OLD_PDB})
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_manifests.py"), str(overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"{overlay}: PodDisruptionBudget/old: apiVersion policy/v1beta1" in result.stderr


def test_kustomize_error_is_reported(tmp_path, release):
    overlay = _overlay(tmp_path, "")
    (overlay / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    (error,) = check_manifests.check(overlay, release)
    assert f"kustomize build {overlay} failed" in error and "missing.yaml" in error


def test_ingress_component_routes_what_the_httproute_does(tmp_path, release):
    """The Ingress variant (k8s/components/ingress) on the base: the same paths as the
    base's HTTPRoute, the same body limit as the predictor, and every offline check."""
    import yaml

    components = os.path.relpath(ROOT / "k8s" / "components" / "ingress", tmp_path)
    overlay = _overlay(tmp_path, f"components:\n  - {components}\n")
    assert check_manifests.check(overlay, release) == []
    objects = {o["kind"]: o for o in yaml.safe_load_all(check_manifests.render(overlay)) if o}
    ingress, route = objects["Ingress"], objects["HTTPRoute"]
    ingress_paths = [p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]]
    route_paths = [m["path"]["value"] for m in route["spec"]["rules"][0]["matches"]]
    assert ingress_paths == route_paths == ["/v1/models", "/v2", "/", "/ui"]
    config = objects["ConfigMap"]["data"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "8m"
    assert int(config["PREDICTOR_MAX_BODY_BYTES"]) == 8 * 1024 * 1024
