"""``python -m cluster up|down|status``: the local cluster (Makefile: cluster-up, cluster-down)."""

from __future__ import annotations

import argparse
import sys

from cluster import harness
from cluster.preflight import PreflightError
from cluster.settings import default_settings

DEFAULT_IMAGES = ("ghcr.io/imgclf/predictor:0.1.0",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--image", action="append", default=None,
        help=f"image to load into the node (repeatable; default: {' '.join(DEFAULT_IMAGES)})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = default_settings()
    if args.command == "down":
        harness.down(settings)
        print(f"cluster-down: stopped; state was in {settings.workdir}")
        return 0
    if args.command == "status":
        cluster = harness.Cluster(settings)
        result = cluster.kubectl("get", "nodes,pods", "-A", "-o", "wide", check=False)
        print(result.stdout or result.stderr, end="")
        return result.returncode
    try:
        harness.up(settings, tuple(args.image or DEFAULT_IMAGES))
    except (PreflightError, harness.ClusterError) as err:
        print(err, file=sys.stderr)
        return 1
    print(f"cluster-up: ready. export KUBECONFIG={settings.kubeconfig}")
    print(f"  kubectl --kubeconfig {settings.kubeconfig} get nodes")
    gateway = f"http://{settings.node_ip}:{settings.ports.gateway_http}/"
    print(f"  Gateway: {gateway}  (stop: make cluster-down)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
