"""Reports of ``make bench``: goals as ratios, Markdown tables and PNG plots.

``python bench/report.py bench/results/<timestamp>.json`` rewrites the ``.md``,
``.png`` and ``-sweep.png`` beside a results file (e.g. after changing the table).
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import paired  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

PYTHON_SERVERS = ("flask", "fastapi")
PYTHON_PEERS = (*PYTHON_SERVERS, "kserve")  # every Python server of the open-loop goals
ORIGINAL_NO_MODEL_RATIO = 51684 / 11751  # Go/Chi vs Python + Flask, the original table
# Each gRPC row of the predictor and the REST row it is set against: the same model,
# the same request (TF Serving Predict / :predict, KServe v2 ModelInfer / infer).
GRPC_VS_REST = (("go-predictor-grpc", "go-predictor"), ("go-predictor-grpc-v2", "go-predictor-v2"))


def write(result: dict, out_dir: Path, stamp: str) -> dict[str, Path]:
    """Add the goals to ``result`` and write ``<stamp>.json``, ``.md`` and ``.png``."""
    result["goals"] = goals(result)
    result["sustained"] = sustained(result)
    result["grpc_vs_rest"] = grpc_vs_rest(result)
    if result.get("containers"):
        result["container_ratios"] = container_ratios(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{stamp}.{ext}" for ext in ("json", "md", "png")}
    if result.get("sweeps"):
        paths["sweep_png"] = out_dir / f"{stamp}-sweep.png"
        plot_sweep(result, paths["sweep_png"])
    paths["json"].write_text(json.dumps(result, indent=1))
    plot(result, paths["png"])
    sweep_png = paths["sweep_png"].name if "sweep_png" in paths else None
    paths["md"].write_text(markdown(result, paths["png"].name, sweep_png))
    return paths


def sustained(result: dict) -> list[dict]:
    """Per model and server: the highest offered rate of the sweep held within the p99 target.

    ``all_held`` means the sweep's last rate held too, so the true limit is higher.
    """
    out = []
    sweeps = result.get("sweeps", [])
    for model, server in dict.fromkeys((r["model"], r["server"]) for r in sweeps):
        rows = [r for r in sweeps if r["model"] == model and r["server"] == server]
        held = [r["offered_rps"] for r in rows if r["held"]]
        best = _row(result["runs"], model, server)
        out.append(
            {
                "model": model,
                "server": server,
                "target_p99_ms": rows[0]["target_p99_ms"],
                "closed_loop_best_rps": best and best["rps"],
                "sustained_rps": max(held, default=None),
                "all_held": all(r["held"] for r in rows),
            }
        )
    return out


def _row(runs: list[dict], model: str, server: str, c: int | None = None) -> dict | None:
    """The run of ``server`` on ``model`` at concurrency ``c``, or its best level when None."""
    rows = [r for r in runs if r["model"] == model and r["server"] == server]
    if c is not None:
        rows = [r for r in rows if r["concurrency"] == c]
    return max(rows, key=lambda r: r["rps"], default=None)


def _goal(goal: str, measured: float | None, target: str, met: bool | None) -> dict:
    value = None if measured is None else round(measured, 3)
    return {"goal": goal, "measured": value, "target": target, "met": met}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def goals(result: dict) -> list[dict]:
    """The issue's goals as measured ratios; ``met`` is None where a run is missing."""
    runs, limits = result["runs"], result.get("inprocess", [])
    out = []

    def check(goal: str, value: float | None, target: str, ok) -> None:
        out.append(_goal(goal, value, target, None if value is None else bool(ok(value))))

    top = max(result["config"]["levels"])
    for go in ("go-predictor", "go-predictor-batching"):
        g = _row(runs, "small", go, top)
        if g is None:
            continue
        for py in PYTHON_SERVERS:
            p = _row(runs, "small", py, top)
            rps = _ratio(g["rps"], p and p["rps"])
            check(f"small c={top}: {go} req/s / {py}", rps, ">= 5", lambda v: v >= 5)
            p99 = _ratio(g["p99_ms"], p and p["p99_ms"])
            check(f"small c={top}: {go} p99 / {py} p99", p99, "< 1", lambda v: v < 1)
        check(f"small c={top}: {go} errors", g["errors"], "0", lambda v: v == 0)
        # Measured minutes apart on a core whose speed drifts: the paired goals below
        # are the ones with a target.
        batched = [x["images_per_s"] for x in limits if x["model"] == "small" and x["batch"] > 1]
        goal = f"small c={top}: {go} req/s / in-process batched limit (separate runs)"
        out.append(_goal(goal, _ratio(g["rps"], max(batched, default=None)), "info", None))
    resnet = [x["images_per_s"] for x in limits if x["model"] == "resnet50"]
    resnet_limit = max(resnet, default=None)
    for go in ("go-predictor", "go-predictor-batching"):
        g = _row(runs, "resnet50", go)
        if g is None:
            continue
        goal = f"resnet50 best level: {go} req/s / in-process limit (separate runs)"
        out.append(_goal(goal, _ratio(g["rps"], resnet_limit), "info", None))
        for py in PYTHON_SERVERS:  # every server runs the same TensorFlow graph, ~95% of it
            p = _row(runs, "resnet50", py)
            goal = f"resnet50 best level: {go} req/s / {py}"
            out.append(_goal(goal, _ratio(g["rps"], p and p["rps"]), "info", None))
    for model in ("small", "resnet50"):  # what HTTP + JSON cost, batching aside
        g = _row(runs, model, "go-predictor")
        one = [x["images_per_s"] for x in limits if x["model"] == model and x["batch"] == 1]
        if g and one:
            goal = f"{model}: go-predictor req/s / in-process batch 1"
            out.append(_goal(goal, _ratio(g["rps"], max(one)), "info", None))
    on = _row(runs, "resnet50", "go-predictor-batching", 1)
    off = _row(runs, "resnet50", "go-predictor", 1)
    if on and off:
        ratio = on["rps"] / off["rps"]
        check("resnet50 c=1: batching on / off req/s", ratio, ">= 0.95", lambda v: v >= 0.95)
    for model in ("small", "resnet50"):
        g = _row(runs, model, "go-predictor")
        pys = [p for p in (_row(runs, model, s) for s in PYTHON_SERVERS) if p]
        if g is None or not pys:
            continue
        lowest = min(pys, key=lambda p: p["peak_rss_mib"])
        check(
            f"{model}: go-predictor peak RSS / lowest Python ({lowest['server']})",
            g["peak_rss_mib"] / lowest["peak_rss_mib"],
            "< 1",
            lambda v: v < 1,
        )
        fastest = min(pys, key=lambda p: p["ready_s"])
        check(
            f"{model}: go-predictor time to ready / fastest Python ({fastest['server']})",
            g["ready_s"] / fastest["ready_s"],
            "< 1",
            lambda v: v < 1,
        )
    out += paired.goals(result)
    out += kserve_goals(result)
    out += grpc_goals(result)
    out += sweep_goals(result)
    flask = _row(runs, "no-model", "flask")
    for go in ("go-predictor", "go-nethttp"):
        g = _row(runs, "no-model", go)
        check(
            f"no-model best level: {go} req/s / flask",
            _ratio(g and g["rps"], flask and flask["rps"]),
            f">= {ORIGINAL_NO_MODEL_RATIO:.1f} (original)",
            lambda v: v >= ORIGINAL_NO_MODEL_RATIO,
        )
    return out


def kserve_goals(result: dict) -> list[dict]:
    """Predictor / KServe ModelServer at the top concurrency, both on the v2 body."""
    runs, top, out = result["runs"], max(result["config"]["levels"]), []
    for model in dict.fromkeys(r["model"] for r in runs if r["model"] != "no-model"):
        k = _row(runs, model, "kserve", top)
        go = "go-predictor-v2" if _row(runs, model, "go-predictor-v2", top) else "go-predictor"
        g = _row(runs, model, go, top)
        if k is None or g is None:
            continue
        for what, key in (
            ("req/s", "rps"),
            ("p99", "p99_ms"),
            ("peak RSS", "peak_rss_mib"),
            ("time to ready", "ready_s"),
        ):
            goal = f"{model} c={top}: {go} {what} / kserve"
            out.append(_goal(goal, _ratio(g[key], k[key]), "info", None))
    return out


def grpc_vs_rest(result: dict) -> list[dict]:
    """Per model, level and API: the predictor's gRPC req/s and p99 over its REST ones."""
    runs, out = result["runs"], []
    for model in dict.fromkeys(r["model"] for r in runs if r["model"] != "no-model"):
        for c in result["config"]["levels"]:
            for grpc, rest in GRPC_VS_REST:
                g, r = _row(runs, model, grpc, c), _row(runs, model, rest, c)
                if g is None or r is None:
                    continue
                out.append(
                    {
                        "model": model,
                        "concurrency": c,
                        "grpc": grpc,
                        "rest": rest,
                        "grpc_rps": g["rps"],
                        "rest_rps": r["rps"],
                        "rps_ratio": _round(_ratio(g["rps"], r["rps"])),
                        "grpc_p99_ms": g["p99_ms"],
                        "rest_p99_ms": r["p99_ms"],
                        "p99_ratio": _round(_ratio(g["p99_ms"], r["p99_ms"])),
                    }
                )
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def grpc_goals(result: dict) -> list[dict]:
    """gRPC ÷ REST at the top concurrency, req/s and p99, for each API both rows have."""
    top, out = max(result["config"]["levels"]), []
    for x in grpc_vs_rest(result):
        if x["concurrency"] == top:
            name = f"{x['model']} c={top}: {x['grpc']} ÷ {x['rest']}"
            out.append(_goal(f"{name} req/s", x["rps_ratio"], "info", None))
            out.append(_goal(f"{name} p99", x["p99_ratio"], "info", None))
    return out


def grpc_markdown(result: dict) -> list[str]:
    """The table of gRPC ÷ REST for req/s and p99 at every level."""
    rows = result.get("grpc_vs_rest") or grpc_vs_rest(result)
    if not rows:
        return []
    lines = [
        "",
        "gRPC ÷ REST: the predictor over gRPC (TF Serving Predict, KServe v2 ModelInfer; one "
        "HTTP/2 connection) against the same request over REST (`:predict`, v2 `infer`; one "
        "keep-alive connection per client), same server core:",
        "",
        "| model | c | gRPC row | REST row | gRPC req/s | REST req/s | req/s ÷ "
        "| gRPC p99 ms | REST p99 ms | p99 ÷ |",
        "|---|--:|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {x['model']} | {x['concurrency']} | {x['grpc']} | {x['rest']} | {x['grpc_rps']:.1f} "
        f"| {x['rest_rps']:.1f} | {_fmt(x['rps_ratio'])} | {x['grpc_p99_ms']:.1f} "
        f"| {x['rest_p99_ms']:.1f} | {_fmt(x['p99_ratio'])} |"
        for x in rows
    ]
    return lines


def sweep_goals(result: dict) -> list[dict]:
    """The predictor's req/s held within the p99 target over each Python peer's."""
    held = {(s["model"], s["server"]): s["sustained_rps"] for s in sustained(result)}
    out = []
    for model, target in (result["config"].get("sweep") or {}).get("target_p99_ms", {}).items():
        for peer in PYTHON_PEERS:
            if (model, peer) not in held:
                continue
            gos = ("go-predictor", "go-predictor-batching")
            if peer == "kserve" and (model, "go-predictor-v2") in held:
                gos = ("go-predictor-v2",)  # on the same v2 body as KServe
            for go in gos:
                if (model, go) in held:
                    goal = f"{model} at p99 <= {target:g} ms: {go} req/s / {peer}"
                    ratio = _ratio(held[(model, go)], held[(model, peer)])
                    out.append(_goal(goal, ratio, "info", None))
    return out


def container_ratios(result: dict) -> list[dict]:
    """Per model: the predictor's time to ready and image size over each Python peer's."""
    entries = {(c["model"], c["server"]): c for c in result.get("containers", [])}
    out = []
    for model in dict.fromkeys(model for model, _ in entries):
        go = entries.get((model, "go-predictor"))
        for peer in PYTHON_PEERS:
            p = entries.get((model, peer))
            if go is None or p is None:
                continue
            ready, size = _ratio(go["ready_s"], p["ready_s"]), _ratio(go["image_mb"], p["image_mb"])
            out.append(
                {
                    "model": model,
                    "peer": peer,
                    "ready_ratio": None if ready is None else round(ready, 3),
                    "image_size_ratio": None if size is None else round(size, 3),
                }
            )
    return out


def _where(result: dict) -> str:
    """Where the servers and the load generator ran: pinned cores, or containers under a quota."""
    m = result["machine"]
    if result.get("mode") != "containers":
        return (
            f"servers pinned to CPU {m['server_cpus']}, load generator to CPU "
            f"{m['loadgen_cpus']} (taskset), loopback."
        )
    cfg = result["config"]["containers"]
    return (
        f"servers in containers ({cfg['engine']}, --cpus={cfg['cpus']}: a CFS quota, no "
        f"pinning; network {cfg['network']}), load generator pinned to CPU "
        f"{m['loadgen_cpus']} (taskset)."
    )


def markdown(result: dict, plot_name: str, sweep_plot: str | None = None) -> str:
    """The whole report as Markdown: where it ran, the runs, the sweep, limits, goals."""
    m, v, load = result["machine"], result["versions"], result["load_avg_1m"]
    kserve = f", KServe ModelServer {v['kserve']}" if v.get("kserve") else ""
    in_containers = result.get("mode") == "containers"
    title = "make bench --containers" if in_containers else "make bench"
    lines = [
        f"## {title}, {result['started']}",
        "",
        f"{m['cpu']}, {m['cores']} cores: {_where(result)} Load average (1 min) "
        f"{load['before']} before, {load['after']} after. TensorFlow {v['tensorflow-cpu']}, "
        f"{v['go']}, Python {v['python']}, Flask {v['flask']} + gunicorn {v['gunicorn']}, "
        f"FastAPI {v['fastapi']} + uvicorn {v['uvicorn']}{kserve}; commit {v['commit']}. "
        f"{result['config']['duration_s']} s per level, best of "
        f"{result['config'].get('trials_per_level', 1)} trials; {result['wall_s']} s in all.",
        "",
        f"`{result['command']}`",
        "",
        "| model | server | c | req/s | p50 ms | p90 ms | p99 ms | errors | peak RSS MiB "
        "| CPU s/1k req | ready s |" + (" throttled |" if in_containers else ""),
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" + ("--:|" if in_containers else ""),
    ]
    for r in result["runs"]:
        throttled = r.get("throttled_share")
        lines.append(
            f"| {r['model']} | {r['server']} | {r['concurrency']} | {r['rps']:.1f}"
            f"{' †' if r.get('loadgen_bound') else ''} | "
            f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
            f"{r['peak_rss_mib']} | {r['cpu_s_per_1k']:.2f} | {r['ready_s']:.2f} |"
            + (f" {'-' if throttled is None else f'{throttled:.0%}'} |" if in_containers else "")
        )
    if any(r.get("loadgen_bound") for r in result["runs"]):
        lines += ["", "† the load generator used over 90% of its core: the server may be faster."]
    if in_containers:
        lines += [
            "",
            "throttled: the share of the level's 100 ms CFS periods in which the server used "
            "up its quota and had to wait for the next period.",
        ]
    lines += paired.markdown(result)
    lines += grpc_markdown(result)
    lines += containers_markdown(result)
    lines += sweep_markdown(result)
    if result.get("inprocess"):
        lines += [
            "",
            "In-process limits (no HTTP, same CPU):",
            "",
            "| model | runner | batch | goroutines | images/s |",
            "|---|---|--:|--:|--:|",
        ]
        lines += [
            f"| {x['model']} | {x['runner']} | {x['batch']} | "
            f"{x['goroutines'] if x['runner'] == 'go' else '-'} | {x['images_per_s']:.1f} |"
            for x in result["inprocess"]
        ]
    lines += ["", "Goals:", "", "| goal | measured | target | met |", "|---|--:|---|---|"]
    for g in result["goals"]:
        unknown = "-" if g["target"] == "info" else "n/a"
        met = {True: "yes", False: "**no**", None: unknown}[g["met"]]
        measured = "n/a" if g["measured"] is None else g["measured"]
        lines.append(f"| {g['goal']} | {measured} | {g['target']} | {met} |")
    lines += [""] + [f"Note: {n}" for n in result.get("notes", [])]
    lines += ["", f"![throughput and p99]({plot_name})", ""]
    if sweep_plot:
        lines += [f"![open loop: p99 against offered rate]({sweep_plot})", ""]
    return "\n".join(lines)


def containers_markdown(result: dict) -> list[str]:
    """Each server's container: image and its size, time to ready, peak memory, CPU quota."""
    entries = result.get("containers")
    if not entries:
        return []
    engine = result["config"]["containers"]["engine"]
    lines = [
        "",
        f"In containers ({result['config']['containers']['cpus']} CPU quota): ready s is from "
        f"`{engine} run` until the first 200 from `GET /v2/health/ready` (the engine's "
        "start included); image MB is the uncompressed image (`image inspect` Size), the "
        "Python peers' one shared image; peak memory is the cgroup's "
        "`memory.max_usage_in_bytes` (anonymous memory and the page cache this container "
        "read first: files an earlier container already read are charged to that one), "
        "peak RSS its processes' summed VmHWM, as on the host; the quota is read back from "
        "the container's cgroup (`cpu.cfs_quota_us` / `cpu.cfs_period_us`).",
        "",
        "| model | server | image | image MB | ready s | peak memory MiB (cgroup) "
        "| peak RSS MiB | CPU quota |",
        "|---|---|---|--:|--:|--:|--:|---|",
    ]
    for c in entries:
        image = f"`{c['image']}`"
        if c["server"] in PYTHON_PEERS:
            image += f" (one image for {', '.join(PYTHON_PEERS)})"
        q = c["cpu_quota"]
        quota = f"{q['cpu_limit']} ({q['cgroup_quota_us']}/{q['cgroup_period_us']} µs)"
        lines.append(
            f"| {c['model']} | {c['server']} | {image} | {c['image_mb']} | {c['ready_s']:.2f} "
            f"| {c['peak_mem_mib']} | {c['peak_rss_mib']} | {quota} |"
        )
    ratios = result.get("container_ratios") or container_ratios(result)
    if ratios:
        lines += [
            "",
            "go-predictor / each Python peer, in containers:",
            "",
            "| model | peer | time to ready | image size |",
            "|---|---|--:|--:|",
        ]
        lines += [
            f"| {x['model']} | {x['peer']} | {_fmt(x['ready_ratio'])} "
            f"| {_fmt(x['image_size_ratio'])} |"
            for x in ratios
        ]
    return lines


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def sweep_markdown(result: dict) -> list[str]:
    """The open-loop sweep: every rate tried, then each server's highest rate held."""
    sweeps, cfg = result.get("sweeps", []), result["config"].get("sweep")
    if not sweeps or not cfg:
        return []
    lines = [
        "",
        f"Open loop ({cfg['arrival']} arrivals, {cfg['seconds']} s per rate or long enough "
        f"for {cfg.get('min_requests', 0)} arrivals, after {cfg['warmup_s']} s; at most "
        f"{cfg['max_inflight']} in flight; latency from each request's intended send "
        "time). Rates rise from "
        f"{cfg['from']:g} x the server's best closed-loop req/s by x{cfg['step']:g} up to "
        f"{cfg['to']:g} x, stopping after the first that misses: held = every request due "
        "answered 200 with p99 within the target.",
        "",
        "| model | server | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms "
        "| errors | dropped | held |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in sweeps:
        lines.append(
            f"| {r['model']} | {r['server']} | {r['offered_rps']:.1f} | {r['achieved_rps']:.1f} "
            f"| {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} "
            f"| {r['dropped']} | {'yes' if r['held'] else '**no**'} |"
        )
    lines += [
        "",
        "Highest rate held within the p99 target (≥: the sweep's last rate held too):",
        "",
        "| model | server | p99 target ms | closed-loop best req/s | req/s held |",
        "|---|---|--:|--:|--:|",
    ]
    for x in result.get("sustained") or sustained(result):
        rate = x["sustained_rps"]
        held = "none" if rate is None else f"{'≥ ' if x['all_held'] else ''}{rate:.1f}"
        lines.append(
            f"| {x['model']} | {x['server']} | {x['target_p99_ms']:g} | "
            f"{x['closed_loop_best_rps']} | {held} |"
        )
    return lines


def plot(result: dict, path: Path) -> None:
    """Throughput and p99 per server per concurrency, one row per model."""
    runs = result["runs"]
    models = list(dict.fromkeys(r["model"] for r in runs))
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 3.4 * len(models)), squeeze=False)
    for row, model in zip(axes, models, strict=True):
        for server in dict.fromkeys(r["server"] for r in runs if r["model"] == model):
            rs = sorted(
                (r for r in runs if r["model"] == model and r["server"] == server),
                key=lambda r: r["concurrency"],
            )
            cs = [r["concurrency"] for r in rs]
            row[0].plot(cs, [r["rps"] for r in rs], marker="o", label=server)
            row[1].plot(cs, [r["p99_ms"] for r in rs], marker="o", label=server)
        limit = [x["images_per_s"] for x in result.get("inprocess", []) if x["model"] == model]
        if limit:
            row[0].axhline(max(limit), color="gray", ls="--", label="in-process limit")
        row[0].set_ylim(bottom=0)
        row[1].set_yscale("log")
        for ax, title in ((row[0], "requests/s"), (row[1], "p99 latency (ms)")):
            ax.set_xscale("log", base=2)
            ax.set_xticks(result["config"]["levels"], labels=result["config"]["levels"])
            ax.set_xlabel("concurrent connections")
            ax.set_title(f"{model}: {title}")
            ax.grid(True, which="both", alpha=0.3)
        row[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_sweep(result: dict, path: Path) -> None:
    """p99 against offered rate, one line per server, one panel per model; open = missed."""
    sweeps = result["sweeps"]
    models = list(dict.fromkeys(r["model"] for r in sweeps))
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        target = None
        for server in dict.fromkeys(r["server"] for r in sweeps if r["model"] == model):
            rs = [r for r in sweeps if r["model"] == model and r["server"] == server]
            rs.sort(key=lambda r: r["offered_rps"])
            target = rs[0]["target_p99_ms"]
            # A rate with no 200s has no p99: draw it at the top of its missed line.
            ys = [r["p99_ms"] or r["max_ms"] or 1e4 for r in rs]
            (line,) = ax.plot([r["offered_rps"] for r in rs], ys, marker="o", label=server)
            missed = [(r["offered_rps"], y) for r, y in zip(rs, ys, strict=True) if not r["held"]]
            if missed:
                ax.scatter(*zip(*missed, strict=True), s=80, facecolors="white",
                           edgecolors=line.get_color(), zorder=3)  # fmt: skip
        if target is not None:
            ax.axhline(target, color="gray", ls="--", label=f"p99 target {target:g} ms")
        ax.scatter([], [], s=80, facecolors="white", edgecolors="gray", label="missed the target")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(_tick))
            axis.set_minor_formatter(FuncFormatter(_tick))
        ax.set_xlabel("offered requests/s (Poisson)")
        ax.set_ylabel("p99 latency (ms) from intended send")
        ax.set_title(f"{model}: open loop, p99 vs offered rate")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _tick(value: float, _pos: int) -> str:
    """Log-axis labels as plain numbers, at 1, 2 and 5 times powers of ten only."""
    return f"{value:g}" if f"{value:e}"[0] in "125" else ""


def main() -> None:
    path = Path(sys.argv[1])
    result = json.loads(path.read_text())
    paths = write(result, path.parent, path.stem)
    print(paths["md"].read_text())


if __name__ == "__main__":
    main()
