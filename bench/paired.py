"""The predictor ÷ its in-process limit, measured in alternating windows.

On a shared machine the speed of a core drifts by tens of percent within
minutes, so a limit measured minutes before a server's row says little about
their ratio. Here the Go in-process runner (``bench/inprocess -paired``) holds
the model loaded beside the running predictor, on the same core(s); each round
measures the limit for one window, then the predictor under a closed loop for
the next. The figure is the ratio of the two means over all rounds.

After the rounds, one more server window of 6 s takes the predictor's CPU
profile (``--debug-addr``, Go's pprof) beside its CPU seconds, split into
TensorFlow's C++ code, Go's garbage collector and the rest of Go (HTTP, JSON,
base64, the batcher): where the time between the limit and the server goes.
"""

import json
import re
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Short windows, many rounds: the speed of a core here swings by a third within seconds
# (no steal time shows), so only windows seconds apart see the same machine. The closed
# loop's connections per model keep every session run a full batch while the next one
# queues (2 x the batch size).
ROUNDS = {"small": 11, "resnet50": 7}
CONCURRENCY = {"small": 64, "resnet50": 16}
WINDOW_S = {"small": 1.5, "resnet50": 5.0}
MIN_CALLS = 3  # in-process calls per window at least (ResNet50 batch 8: ~1 s each)
# The profile's window: 6 s from 0.5 s into a closed loop of 7 s after 1 s of warm-up.
PROFILE_S, PROFILE_DELAY_S = 6, 1.5


@dataclass(frozen=True)
class Tools:
    """How to run each side: ``inprocess`` is bench/inprocess's argv (pinned to the server
    core(s)), ``load(c, warmup_s, seconds)`` a closed loop on the server, returning the load
    generator's JSON; ``log`` takes the in-process runner's stderr."""

    inprocess: list[str]
    load: Callable[[int, float, float], dict]
    log: Path


def measure(run, model, batch: int, tools: Tools, rounds=None, window=None) -> dict:
    """Alternating windows of the in-process limit at ``batch`` and of ``run`` (a
    ``bench.run.Running`` predictor) at ``CONCURRENCY``, ``rounds`` times (default
    ``ROUNDS``) for ``window`` s each (``WINDOW_S``), then Go's CPU profile of one more.
    One dict with every round."""
    n, window = rounds or ROUNDS[model.name], window or WINDOW_S[model.name]
    c = CONCURRENCY[model.name]
    argv = [*tools.inprocess, "-paired", "-model", str(model.version_dir)]
    argv += ["-image", str(model.image)]
    argv += ["-batches", str(batch), "-goroutines", "1"]
    argv += ["-d", f"{window}s", "-min-calls", str(MIN_CALLS)]
    rows, profile = [], None
    with tools.log.open("w") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
        )
        try:
            for _ in range(n):
                # One request by hand waits out what the server's last window (or its closed
                # loop before the rounds) left running, so the limit's window has the core.
                run.check_predict(model)
                limit = _window(proc)
                res = tools.load(c, warmup_s(c, limit, 0.5), window)
                rows.append(
                    {
                        "limit_images_per_s": round(limit, 1),
                        "server_rps": round(res["rps"], 1),
                        "errors": res["errors"],
                        "ratio": round(res["rps"] / limit, 3) if limit else None,
                    }
                )
                print(f"  paired {model.name} {run.server.name} {rows[-1]}", flush=True)
            # One more server window, longer, for the profile: Go's share is a few samples
            # a second (none at all in 4 s of ResNet50), too few in one round's window.
            prof = _Profile(run, PROFILE_S, delay=PROFILE_DELAY_S)
            tools.load(c, 1.0, PROFILE_S + 1.0)
            profile = prof.split()
        finally:
            proc.stdin.close()
            proc.wait(timeout=120)
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    limit_mean = statistics.fmean(r["limit_images_per_s"] for r in rows)
    server_mean = statistics.fmean(r["server_rps"] for r in rows)
    return {
        "model": model.name,
        "server": run.server.name,
        "batch": batch,
        "concurrency": c,
        "window_s": window,
        "rounds": rows,
        # Means over the rounds: a server's count in one window is a whole number of
        # batches (ResNet50: 8 requests a second), the mean of many is finer.
        "ratio": round(server_mean / limit_mean, 3) if limit_mean else None,
        # The middle half of the single rounds' ratios: how far one round strays.
        "round_quartiles": [round(q, 3) for q in statistics.quantiles(ratios, n=4)[::2]]
        if len(ratios) > 1
        else None,
        "profile": profile,
    }


def _window(proc: subprocess.Popen) -> float:
    """One in-process window: a line in, its JSON line out; images/s."""
    proc.stdin.write("\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"bench/inprocess -paired exited ({proc.wait()}); see its log")
    return float(json.loads(line)["images_per_s"])


def warmup_s(c: int, rate: float | None, least: float) -> float:
    """Long enough for a closed loop of ``c`` to fill the server's queue (1.2 x c requests
    at ``rate``), at least ``least`` s and at most 20 s; ``least`` when no rate is known."""
    return min(20.0, max(least, 1.2 * c / rate)) if rate else least


class _Profile:
    """Go's CPU profile of a predictor for ``seconds`` (a thread, so load can run meanwhile),
    and the predictor's CPU seconds over the same time."""

    def __init__(self, run, seconds: int, delay: float):
        self.data: bytes | None = None
        self.error = ""
        self.cpu_s: float | None = None
        addr = getattr(run, "debug_addr", "")
        self.thread = None
        if not addr:
            self.error = "no --debug-addr"
            return
        url = f"http://{addr}/debug/pprof/profile?seconds={seconds}"
        args = (run, url, delay, seconds + 30)
        self.thread = threading.Thread(target=self._fetch, args=args, daemon=True)
        self.thread.start()

    def _fetch(self, run, url: str, delay: float, timeout: float) -> None:
        time.sleep(delay)
        try:
            cpu0 = run.cpu_seconds()
            with urllib.request.urlopen(url, timeout=timeout) as r:
                self.data = r.read()  # sent when the profile ends
            self.cpu_s = run.cpu_seconds() - cpu0
        except OSError as err:
            self.error = str(err)

    def split(self) -> dict:
        if self.thread is not None:
            self.thread.join()
        if self.data is None:
            return {"error": self.error}
        with tempfile.NamedTemporaryFile(suffix=".pb.gz") as f:  # pprof reads no pipe
            f.write(self.data)
            f.flush()
            argv = ["go", "tool", "pprof", "-top", "-nodecount=0", "-nodefraction=0", f.name]
            out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode != 0:
            return {"error": out.stderr[-300:]}
        return split_profile(out.stdout, self.cpu_s)


# "  flat flat% sum% cum cum% name"; a zero is printed without its unit.
_NODE = re.compile(r"^\s*([\d.]+)(\w*)\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)(\w*)\s+[\d.]+%\s+(.+)$")
_TOTAL = re.compile(r"Total samples = ([\d.]+)(\w*)")  # "= 0 " when nothing was sampled
_UNIT_S = {
    "": 0.0,
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "mins": 60.0,
    "hrs": 3600.0,
}


def split_profile(top: str, cpu_s: float | None = None) -> dict:
    """Shares of the predictor's CPU time from a ``go tool pprof -top -nodecount=0`` listing
    and the process's CPU seconds over the profile (``cpu_s``): C code (TensorFlow: what
    runs outside Go, C calls made from Go, and what the profile did not sample: the
    predictor keeps SIGPROF off TensorFlow's threads), Go's garbage collector, the rest
    of Go. Without ``cpu_s`` the shares are of the sampled time."""
    total = _TOTAL.search(top)
    if total is None:
        return {"error": "no samples"}
    sampled_s = float(total.group(1)) * _UNIT_S[total.group(2)]
    total_s = max(sampled_s, cpu_s or 0.0)
    c_s = gc_s = 0.0
    for line in top.splitlines():
        m = _NODE.match(line)
        if m is None:
            continue
        cum_s, name = float(m.group(3)) * _UNIT_S[m.group(4)], m.group(5).strip()
        if name == "runtime._ExternalCode" or "._Cfunc_" in name:
            c_s += cum_s  # neither kind of node is ever under the other
        elif name == "runtime.gcBgMarkWorker":
            gc_s += cum_s
    if total_s <= 0:
        return {"error": "no samples"}
    c, gc = (c_s + total_s - sampled_s) / total_s, gc_s / total_s
    return {
        "cpu_s": round(total_s, 2),
        "sampled_s": round(sampled_s, 2),
        "tensorflow_c": round(c, 3),
        "go_gc": round(gc, 3),
        "go_other": round(max(0.0, 1 - c - gc), 3),
    }


# The batching predictor is the row that should reach the limit: each run is a full batch.
TARGET = {"go-predictor-batching": 0.95}


def goals(result: dict) -> list[dict]:
    """One goal per paired row: the batching predictor's against ``TARGET``, the plain
    predictor's (batch 1: what HTTP and JSON cost per image) as information."""
    out = []
    for p in result.get("paired", []):
        goal = (
            f"{p['model']} c={p['concurrency']}: {p['server']} req/s / in-process batch "
            f"{p['batch']} limit (alternating windows)"
        )
        target = TARGET.get(p["server"])
        met = None if target is None or p["ratio"] is None else p["ratio"] >= target
        text = "info" if target is None else f">= {target}"
        out.append({"goal": goal, "measured": p["ratio"], "target": text, "met": met})
    return out


def markdown(result: dict) -> list[str]:
    """The paired rows and the split of each one's CPU profile, as Markdown lines."""
    rows = result.get("paired", [])
    if not rows:
        return []
    lines = [
        "",
        "Predictor ÷ in-process limit in alternating windows (`bench/paired.py`): on the "
        "same core, the Go in-process runner at the predictor's batch size for one window, "
        "then the predictor under a closed loop for the next, round after round; the ratio "
        "of the means, and the quartiles of single rounds. The profile is Go's pprof of one "
        "more server window (6 s) beside the process's CPU seconds: C code (TensorFlow, "
        "whose threads the profile does not sample), Go's garbage collector, the rest of Go "
        "(HTTP, JSON, base64, batching).",
        "",
        "| model | server | batch | c | rounds × s | limit images/s | server req/s | ratio "
        "| rounds' quartiles | C (TensorFlow) | Go GC | Go other |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for p in rows:
        limit = sum(r["limit_images_per_s"] for r in p["rounds"]) / len(p["rounds"])
        server = sum(r["server_rps"] for r in p["rounds"]) / len(p["rounds"])
        q = p.get("round_quartiles")
        prof = p.get("profile") or {}
        shares = [prof.get(k) for k in ("tensorflow_c", "go_gc", "go_other")]
        shares_text = " | ".join("-" if x is None else f"{x:.1%}" for x in shares)
        lines.append(
            f"| {p['model']} | {p['server']} | {p['batch']} | {p['concurrency']} | "
            f"{len(p['rounds'])} × {p['window_s']:g} | {limit:.1f} | {server:.1f} | "
            f"{'n/a' if p['ratio'] is None else p['ratio']} | "
            f"{'-' if not q else f'{q[0]}–{q[1]}'} | {shares_text} |"
        )
    return lines
