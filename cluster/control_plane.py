"""The control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler,
started on loopback by ``kwokctl --runtime binary`` from the binaries in build/tools/bin.

kwokctl writes the certificates and wires the components. Its kwok controller is left
out: it would fake the status of every node's pods, the real node's too. The apiserver
gets the cluster's Service range, the aggregation layer's front-proxy settings
(metrics-server is an aggregated API), and admission and RBAC are on, as on a real cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from cluster.settings import TOOLS_BIN, Settings

ADMIN_CN = "kwok-admin"  # the CN of the admin certificate kwokctl writes
BINARIES = {
    "--etcd-binary": "etcd",
    "--kube-apiserver-binary": "kube-apiserver",
    "--kube-controller-manager-binary": "kube-controller-manager",
    "--kube-scheduler-binary": "kube-scheduler",
}


def kwokctl_config(s: Settings) -> str:
    """The KwokctlConfiguration (JSON is YAML) for this cluster."""
    ca = str(s.pki / "ca.crt")
    apiserver_args = {
        "service-cluster-ip-range": s.service_cidr,
        "requestheader-client-ca-file": ca,
        # The apiserver's proxy client certificate is kwokctl's admin certificate (this CN);
        # no other client certificate may set the front-proxy headers.
        "requestheader-allowed-names": ADMIN_CN,
        "requestheader-username-headers": "X-Remote-User",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        # Reach aggregated APIs (metrics-server, a host process) at their endpoint address.
        # (kwokctl sets none of these: extraArgs without "override" are appended.)
        "enable-aggregator-routing": "true",
    }
    config = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "bindAddress": "127.0.0.1",
            "kubeApiserverPort": s.ports.apiserver,
            "etcdPort": s.ports.etcd,
            "etcdPeerPort": s.ports.etcd_peer,
            "kubeAuthorization": True,
            "kubeAdmission": True,
            "disable": ["kwok-controller"],
        },
        "componentsPatches": [
            {
                "name": "kube-apiserver",
                "extraArgs": [{"key": k, "value": v} for k, v in apiserver_args.items()],
            }
        ],
    }
    return json.dumps(config, indent=2)


def kwokctl(s: Settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{TOOLS_BIN}:{os.environ.get('PATH', '')}",
        "KWOK_WORKDIR": str(s.kwok_workdir),
    }
    config = s.workdir / "kwokctl.yaml"
    return subprocess.run(
        [str(TOOLS_BIN / "kwokctl"), "-c", str(config), *args, "--name", s.name],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(s: Settings) -> None:
    """Create and start the control plane; its admin kubeconfig goes to ``s.kubeconfig``."""
    (s.workdir / "kwokctl.yaml").write_text(kwokctl_config(s))
    args = ["create", "cluster", "--runtime", "binary"]
    for flag, binary in BINARIES.items():
        args += [flag, str(TOOLS_BIN / binary)]
    args += ["--kubeconfig", str(s.kubeconfig), "--wait", "2m"]
    result = kwokctl(s, *args)
    if result.returncode != 0:
        raise RuntimeError(f"kwokctl create cluster failed: {_tail(result.stderr)}")


def stop(s: Settings) -> None:
    """Stop and delete the control plane (a no-op when kwokctl never created it)."""
    if (s.kwok_workdir / "clusters" / s.name).exists():
        kwokctl(s, "delete", "cluster")


def _tail(text: str, lines: int = 10) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def admin_credentials(s: Settings) -> tuple[Path, Path, Path]:
    """(ca.crt, admin.crt, admin.key): what the node's programs authenticate with."""
    return s.pki / "ca.crt", s.pki / "admin.crt", s.pki / "admin.key"
