"""The local-cluster scenarios' figures: bench/results/cluster-<stamp>.{json,md,png} and
cluster-latest.*, written at the end of a test session that ran them (conftest.py).

Sections: the rollout's requests sent and lost, the rollbacks' times, the autoscaler's
replica counts over time under load (also plotted), the gateway's body-limit checks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from cluster.settings import VERSIONS_FILE, pinned_versions

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
_figures: dict[str, object] = {}


def record(section: str, data: object) -> None:
    """Keep ``data`` under ``section`` for this session's report."""
    _figures[section] = data


def write(out: Path = RESULTS) -> Path | None:
    """Write the report if any scenario recorded figures; returns the markdown's path."""
    if not _figures:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "recorded": time.strftime("%Y-%m-%d %H:%M:%S"),
        "components": component_versions(),
        **_figures,
    }
    paths = {ext: out / f"cluster-{stamp}.{ext}" for ext in ("json", "md", "png")}
    paths["json"].write_text(json.dumps(result, indent=2) + "\n")
    has_plot = _plot(result.get("autoscaling"), paths["png"])
    paths["md"].write_text(markdown(result, paths["png"].name if has_plot else None))
    for ext, path in paths.items():
        if path.exists():
            latest = out / f"cluster-latest.{ext}"
            shutil.copy(path, latest)
    if has_plot:  # the latest markdown links the latest plot
        latest_md = out / "cluster-latest.md"
        latest_md.write_text(latest_md.read_text().replace(paths["png"].name, "cluster-latest.png"))
    return paths["md"]


def component_versions() -> dict[str, str]:
    """What ran: the versions pinned in versions.sh, and the Debian packages' installed
    versions (Debian pins them by release: versions.sh names the packages)."""
    versions = pinned_versions()
    packages = re.search(r"^NODE_PACKAGES=\((.*)\)", VERSIONS_FILE.read_text(), re.M)
    names = packages.group(1).split() if packages else []
    query = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}=${Version}\\n", *names],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    for line in query.stdout.splitlines():
        name, _, version = line.partition("=")
        versions[name] = version
    return versions


def markdown(result: dict, plot: str | None) -> str:
    lines = [f"# Local cluster scenarios ({result['recorded']})", ""]
    lines += ["One real node (containerd, kubelet, kube-proxy), the predictor image, the test",
              "overlay (tests/k8s/cluster). Produced by `make test`.", ""]  # fmt: skip
    components = result.get("components")
    if components:
        lines += ["Components: " + ", ".join(f"{k} {v}" for k, v in components.items()), ""]
    rollout = result.get("rollout")
    if rollout:
        lines += ["## Rollout under load (deploy step, version 1 -> 2)", "",
                  "| requests sent | lost | seconds | answers by version |", "|---|---|---|---|",
                  f"| {rollout['requests_sent']} | {rollout['requests_lost']} | "
                  f"{rollout['seconds']} | {rollout['answers_by_version']} |", ""]  # fmt: skip
    rows = [(k, result[k]) for k in ("rollback_not_ready", "rollback_wrong_answer") if k in result]
    if rows:
        lines += ["## Rollbacks", "", "| failure | version | seconds until back on 2 | "
                  "requests sent | lost |", "|---|---|---|---|---|"]  # fmt: skip
        for name, r in rows:
            what = "wrong smoke answer"
            if name == "rollback_not_ready":
                what = f"never Ready (corrupt; rollout timeout {r['rollout_timeout_s']} s)"
            lines.append(f"| {what} | {r['version']} | {r['seconds_until_back_on_2']} | "
                         f"{r['requests_sent']} | {r['requests_lost']} |")  # fmt: skip
        lines.append("")
    scaling = result.get("autoscaling")
    if scaling:
        lines += ["## Autoscaling (HPA on CPU, test overlay windows)", "",
                  f"Load for {scaling['load_seconds']} s; max replicas seen "
                  f"{scaling['max_replicas']}, back to {scaling['final_replicas']} after "
                  f"{scaling['scale_in_seconds']} s without load.", ""]  # fmt: skip
        if plot:
            lines += [f"![replicas over time]({plot})", ""]
        lines += ["| t (s) | replicas | load |", "|---|---|---|"]
        lines += [f"| {t} | {n} | {'on' if on else 'off'} |" for t, n, on in scaling["timeline"]]
        lines.append("")
    lines += _strategies(result)
    gateway = result.get("gateway")
    if gateway:
        lines += ["## Gateway body limit (Traefik) vs the predictor's", "",
                  "| body bytes | through the gateway | straight to the Service |",
                  "|---|---|---|"]  # fmt: skip
        lines += [f"| {r['bytes']} | {r['gateway']} | {r['service']} |" for r in gateway["limits"]]
        lines.append("")
    return "\n".join(lines)


def _strategies(result: dict) -> list[str]:
    """The deploy step's canary and shadow scenarios (tests/test_cluster_canary.py)."""
    lines = []
    canary = result.get("canary")
    if canary:
        lines += [f"## Canary through the Gateway (version {canary['from']} -> {canary['to']})",
                  "", f"{canary['requests_sent']} requests sent, {canary['requests_failed']} "
                  f"failed; beside them {canary['grpc_calls']} gRPC Predict calls through the "
                  f"GRPCRoute, {canary['grpc_failed']} failed; {canary['seconds']} s from "
                  "start to promoted. Split counted by the version in each answer, from "
                  f"{canary['settle_s']} s after each weight change to the end of its "
                  f"{canary['step_wait_s']} s wait; the pods' figures count both protocols.", "",
                  "| weight | HTTP answers, canary share (allowed ±) | gRPC answers, canary "
                  "share (allowed ±) | canary (req, 5xx, p99 s) | stable (req, 5xx, p99 s) |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for step in canary["steps"]:
            c, s_ = step["canary"], step["stable"]
            split = [f"{p['answers']}, {p['canary_share']} (±{p['tolerance']})"
                     for p in (step["http"], step["grpc"])]  # fmt: skip
            lines.append(f"| {step['weight']}% | {split[0]} | {split[1]} | {c['requests']}, "
                         f"{c['errors']}, {_seconds(c['p99_s'])} | {s_['requests']}, "
                         f"{s_['errors']}, {_seconds(s_['p99_s'])} |")  # fmt: skip
        lines.append("")
    failed = result.get("canary_failed")
    if failed:
        lines += [f"## Canary of a slow version (+{failed['added_latency_s']} s)", "",
                  f"Stopped after {failed['seconds_until_stopped']} s: {failed['reason']}. "
                  f"{failed['requests_sent']} requests, {failed['requests_failed']} failed; "
                  f"answers by version {failed['answers_by_version']}.", ""]  # fmt: skip
    killed = result.get("canary_interrupted")
    if killed:
        lines += ["## Canary step killed mid-step, repaired by the next run", "",
                  f"Killed at {killed['killed_at_weight']}%; the next run put the route back "
                  f"and deleted the canary in {killed['repair_seconds']} s. "
                  f"{killed['requests_sent']} requests, {killed['requests_failed']} failed; "
                  f"answers by version {killed['answers_by_version']}.", ""]  # fmt: skip
    shadow = result.get("shadow")
    if shadow:
        lines += [f"## Shadow (version {shadow['from']} -> {shadow['to']}, "
                  f"{shadow['percent']}% mirrored for {shadow['mirror_seconds']} s)", "",
                  f"{shadow['requests_sent']} requests, {shadow['requests_failed']} failed; "
                  f"{shadow['client_answers_while_mirrored']} answered while mirrored, all by "
                  f"the stable version. Logged: stable {shadow['stable_records']}, shadow "
                  f"{shadow['shadow_records']}; {shadow['pairs']} images paired, top-1 "
                  f"agreement {shadow['top1_agreement']}, largest probability delta "
                  f"{shadow['max_probability_delta']}.", ""]  # fmt: skip
    return lines


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _plot(scaling: object, path: Path) -> bool:
    if not isinstance(scaling, dict) or not scaling.get("timeline"):
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [row[0] for row in scaling["timeline"]]
    replicas = [row[1] for row in scaling["timeline"]]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.step(t, replicas, where="post", label="replicas")
    ax.axvspan(0, scaling["load_seconds"], alpha=0.15, label="load on")
    ax.set_xlabel("seconds")
    ax.set_ylabel("replicas")
    ax.set_yticks(range(0, max(replicas) + 2))
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
