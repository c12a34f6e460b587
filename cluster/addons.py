"""What the cluster runs besides Kubernetes: metrics-server (the autoscaler's CPU figures)
and Traefik (the Gateway API implementation), both as host processes beside the control
plane, with the CRDs and API registrations they need.

Both come from the Go module proxy (scripts/cluster/build_node_tools.sh). The CRDs are
read from the modules that define them, at the versions in scripts/cluster/versions.sh:
Gateway API's standard channel, and Traefik's own (its Middleware carries the gateway's
body-size limit, an HTTPRoute ExtensionRef filter).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from cluster.settings import MANIFESTS, ROOT, TOOLS_BIN, Settings, pinned_versions


def _module_dir(module: str, version: str) -> Path:
    """The module's source in the Go module cache (downloaded if it is not there)."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True, text=True, check=False, cwd=ROOT / "tools" / "traefik",
    )  # fmt: skip
    info = json.loads(result.stdout or "{}")
    if "Dir" not in info:
        raise RuntimeError(
            f"go mod download {module}@{version}: {info.get('Error', result.stderr)}"
        )
    return Path(info["Dir"])


def crd_files() -> list[Path]:
    """Gateway API's standard CRDs and Traefik's CRDs, from their Go modules."""
    versions = pinned_versions()
    gateway = _module_dir("sigs.k8s.io/gateway-api", versions["GATEWAY_API_VERSION"])
    traefik = _module_dir("github.com/traefik/traefik/v3", versions["TRAEFIK_VERSION"])
    return [
        *sorted((gateway / "config" / "crd" / "standard").glob("*.yaml")),
        traefik / "docs" / "content" / "reference" / "dynamic-configuration"
        / "kubernetes-crd-definition-v1.yml",
    ]  # fmt: skip


def metrics_server_args(s: Settings) -> list[str]:
    return [
        str(TOOLS_BIN / "metrics-server"),
        f"--bind-address={s.node_ip}",
        f"--secure-port={s.ports.metrics_server}",
        f"--kubeconfig={s.kubeconfig}",
        f"--authentication-kubeconfig={s.kubeconfig}",
        f"--authorization-kubeconfig={s.kubeconfig}",
        f"--cert-dir={s.workdir / 'metrics-server'}",
        # The kubelet's serving certificate is self-signed (no cluster CA signs it here).
        "--kubelet-insecure-tls",
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-use-node-status-port",
        "--metric-resolution=15s",
    ]


def metrics_api_manifest(s: Settings) -> str:
    """The metrics.k8s.io APIService, served by the metrics-server host process."""
    template = (MANIFESTS / "metrics-server.yaml").read_text()
    return template.replace("NODE_IP", s.node_ip).replace(
        "METRICS_PORT", str(s.ports.metrics_server)
    )


def traefik_args(s: Settings) -> tuple[list[str], dict[str, str]]:
    args = [
        str(TOOLS_BIN / "traefik"),
        f"--entryPoints.web.address={s.node_ip}:{s.ports.gateway_http}",
        f"--entryPoints.traefik.address=127.0.0.1:{s.ports.traefik_api}",
        "--ping=true",
        "--ping.entryPoint=traefik",
        "--providers.kubernetesgateway=true",
        f"--providers.kubernetesgateway.statusaddress.ip={s.node_ip}",
        "--providers.kubernetescrd=true",
        "--providers.kubernetescrd.allowCrossNamespace=false",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.level=INFO",
        "--accesslog=false",
    ]
    # Traefik runs outside the cluster: KUBECONFIG selects its external client.
    return args, {"KUBECONFIG": str(s.kubeconfig), "HOME": os.environ.get("HOME", "/root")}


def gateway_manifest(s: Settings) -> str:
    """The GatewayClass for Traefik and the cluster's one Gateway (gateway-system/gateway)."""
    return (
        (MANIFESTS / "gateway.yaml").read_text().replace("GATEWAY_PORT", str(s.ports.gateway_http))
    )
