"""``make bench``: the Go predictor against Python serving, side by side, in one run.

For each model (``small``: the demo's CNN, ``resnet50``) every server is started
alone on loopback, pinned with ``taskset`` to the server core(s), and driven by
the Go load generator (``bench/loadgen``) pinned to the other core(s), at each
concurrency for a bounded time:

- ``go-predictor``: ``build/predictor`` (and ``go-predictor-batching`` when its
  ``--help`` lists the batching flags);
- ``flask``: Flask under gunicorn (gthread), ``bench/servers/flask_app.py``;
- ``fastapi``: FastAPI under uvicorn (uvloop, httptools), ``bench/servers/fastapi_app.py``;
- ``go-nethttp``: plain Go net/http, only for the no-model endpoint
  (``GET /v2/health/live``, a constant, which every server has).

Also measured on the same core(s): the in-process limit of each model, from
Python (signature in a loop) and from Go (the predictor's model package in a
loop, ``bench/inprocess``). Writes ``<out>/<timestamp>.json``, ``.md`` and ``.png``
and prints the table (``bench/report.py``).
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procstats  # noqa: E402
import report  # noqa: E402
from models import CLASSES, BenchModel, ensure_model  # noqa: E402

from pipelines.predictor_process import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "build" / "bench" / "bin"
VENV_BIN = Path(sys.executable).parent
BATCH_FLAGS = ("--batching", "--max-batch-size", "--batch-timeout")
# Batching settings per model: the largest batch that still raises throughput
# in-process (32 for the small CNN, 8 for ResNet50) and a short wait.
BATCHING = {"small": ("32", "2ms"), "resnet50": ("8", "2ms")}
INPROCESS_BATCHES = {"small": "1,32", "resnet50": "1,8"}
GO_TOOLS = {"loadgen": "loadgen", "go_noop": "servers/go_noop", "inprocess": "inprocess"}
SERVERS = "go-predictor,go-predictor-batching,flask,fastapi,go-nethttp"
LOADGEN_BOUND = 0.9  # share of its core(s) above which the load generator is the limit


@dataclass
class Server:
    """How to start one server: its argv given a port, and whether it serves the model."""

    name: str
    argv: list[str]  # "{port}" is replaced
    env: dict[str, str]
    serves_model: bool = True


def servers_for(model: BenchModel, workers: int, predictor: Path) -> list[Server]:
    """Every server of the comparison, configured for ``model``."""
    base, name = str(model.base_path), model.name
    py_env = {"BENCH_MODEL_BASE_PATH": base, "BENCH_MODEL_NAME": name}
    go = [str(predictor), "--listen-addr=127.0.0.1:{port}", f"--model-base-path={base}"]
    go += [f"--model-name={name}", "--log-level=warn"]  # no access log, like the Python servers
    uvicorn_workers = ["--workers", str(workers)] if workers > 1 else []
    servers = [
        Server("go-predictor", go, {}),
        Server(
            "flask",
            [str(VENV_BIN / "gunicorn"), "--chdir", str(ROOT / "bench" / "servers")]
            + ["--bind", "127.0.0.1:{port}", "--worker-class", "gthread"]
            + ["--workers", str(workers), "--threads", "8", "--timeout", "120"]
            + ["--log-level", "warning", "flask_app:create_app()"],
            py_env,
        ),
        Server(
            "fastapi",
            [str(VENV_BIN / "uvicorn"), "--app-dir", str(ROOT / "bench" / "servers")]
            + ["--host", "127.0.0.1", "--port", "{port}", *uvicorn_workers]
            + ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
            + ["--log-level", "warning", "fastapi_app:app"],
            py_env,
        ),
        Server("go-nethttp", [str(BIN / "go_noop"), "--listen-addr=127.0.0.1:{port}"], {}, False),
    ]
    flags = batching_flags(predictor)
    if flags is not None:
        size, timeout = BATCHING[name]
        batching = [f"--batching={flags}", f"--max-batch-size={size}", f"--batch-timeout={timeout}"]
        servers.insert(1, Server("go-predictor-batching", go + batching, {}))
    return servers


def batching_flags(predictor: Path) -> str | None:
    """The value that turns batching on ("true"), or None when the predictor has no batching."""
    out = subprocess.run([predictor, "--help"], capture_output=True, text=True, env=_env({}))
    text = out.stdout + out.stderr
    if not all(f"{flag} " in text or f"{flag}\n" in text for flag in BATCH_FLAGS):
        return None
    return "true"


class Running:
    """A started server: its process, URL and time to ready."""

    def __init__(self, server: Server, cpus: str, log_dir: Path, model_name: str):
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [a.replace("{port}", str(self.port)) for a in server.argv]
        self.log = log_dir / f"{server.name}-{model_name}.log"
        start = time.monotonic()
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                ["taskset", "-c", cpus, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(server.env),
                cwd=ROOT,
                start_new_session=True,
            )
        self.ready_s = self._wait_ready(start)

    def _wait_ready(self, start: float, timeout: float = 180) -> float:
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.server.name} exited: {self.log.read_text()[-1500:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/health/ready", timeout=1) as r:
                    if r.status == 200:
                        return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.server.name} not ready after {timeout}s: {self.log}")

    def check_predict(self, model: BenchModel) -> None:
        """One request by hand: every server must answer the same shape."""
        req = urllib.request.Request(
            f"{self.url}/v1/models/{model.name}:predict", data=model.body.read_bytes()
        )
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=120) as r:
            prediction = json.loads(r.read())["predictions"][0]
        if prediction["label"] not in CLASSES or len(prediction["probabilities"]) != len(CLASSES):
            raise RuntimeError(f"{self.server.name}: unexpected prediction {prediction}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def load(url: str, body: Path | None, c: int, warmup: float, seconds: float, cpus: str) -> dict:
    """Run the load generator once; its JSON result."""
    argv = ["taskset", "-c", cpus, str(BIN / "loadgen"), "-url", url, "-c", str(c)]
    argv += ["-d", f"{seconds}s", "-warmup", f"{warmup:.2f}s"]
    if body is not None:
        argv += ["-body", str(body)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(run: Running, model: BenchModel, endpoint: str, args: argparse.Namespace) -> list:
    """Every concurrency level on one endpoint of a running server; one row per level."""
    if endpoint == "predict":
        url, body = f"{run.url}/v1/models/{model.name}:predict", model.body
    else:
        url, body = f"{run.url}/v2/health/live", None
    rows, prev_rps = [], None
    loadgen_cpus = procstats.cpu_list(args.loadgen_cpus)
    for c in args.levels:
        # Long enough for a closed loop of c requests to reach its steady queue.
        warmup = args.warmup if not prev_rps else min(20.0, max(args.warmup, 1.2 * c / prev_rps))
        # Best of --repeat trials: on a shared machine interference only slows a trial down.
        trials = [trial(run, url, body, c, warmup, args) for _ in range(args.repeat)]
        res, cpu = max(trials, key=lambda t: t[0]["rps"])
        util = res["loadgen_cpu_s"] / (warmup + args.duration) / len(loadgen_cpus)
        rows.append(
            {
                "model": model.name if endpoint == "predict" else "no-model",
                "server": run.server.name,
                "concurrency": c,
                "rps": round(res["rps"], 1),
                "p50_ms": res["p50_ms"],
                "p90_ms": res["p90_ms"],
                "p99_ms": res["p99_ms"],
                "max_ms": res["max_ms"],
                "requests": res["requests"],
                "errors": res["errors"],
                "statuses": res["statuses"],
                "first_error": res.get("first_error", ""),
                # CPU is sampled around the whole call, so divide by every reply, warm-up's too.
                "cpu_s_per_1k": round(1000 * cpu / max(1, res["total_requests"]), 3),
                "peak_rss_mib": procstats.peak_rss_mib(run.proc.pid),
                "ready_s": round(run.ready_s, 2),
                "warmup_s": round(warmup, 2),
                "loadgen_cpu_util": round(util, 2),
                # Near 100% of its core(s) the load generator measured itself, not the server.
                "loadgen_bound": util >= LOADGEN_BOUND,
                "trials_rps": [round(t[0]["rps"], 1) for t in trials],
            }
        )
        prev_rps = res["rps"] or None
        print(_progress(rows[-1]), flush=True)
    return rows


def trial(run: Running, url: str, body: Path | None, c: int, warmup: float, args) -> tuple:
    """One load generator run and the server's CPU seconds during it."""
    cpu0 = procstats.cpu_seconds(run.proc.pid)
    res = load(url, body, c, warmup, args.duration, args.loadgen_cpus)
    return res, procstats.cpu_seconds(run.proc.pid) - cpu0


def inprocess(model: BenchModel, args: argparse.Namespace) -> list[dict]:
    """The in-process limits on the servers' core(s): Python signature loop, Go model loop."""
    secs = args.inprocess_seconds * (1.5 if model.name == "resnet50" else 1)
    batches = INPROCESS_BATCHES[model.name]
    pin = ["taskset", "-c", args.server_cpus]
    common = ["--model", str(model.version_dir), "--image", str(model.image)]
    py = [sys.executable, str(ROOT / "bench" / "inprocess.py"), *common]
    go = [str(BIN / "inprocess"), "-model", str(model.version_dir), "-image", str(model.image)]
    rows = []
    for runner, argv in (
        ("python", py + ["--batches", batches, "--seconds", str(secs)]),
        ("go", go + ["-batches", batches, "-goroutines", "1,2", "-d", f"{secs}s"]),
    ):
        out = subprocess.run(pin + argv, capture_output=True, text=True, env=_env({}))
        if out.returncode != 0:
            raise RuntimeError(f"in-process {runner} failed: {out.stderr[-1500:]}")
        for line in out.stdout.splitlines():
            r = json.loads(line)
            rows.append(
                {
                    "model": model.name,
                    "runner": runner,
                    "batch": r["batch"],
                    "goroutines": r.get("goroutines", 1),
                    "images_per_s": round(r["images_per_s"], 1),
                }
            )
            print(f"  in-process {model.name} {runner} {rows[-1]}", flush=True)
    return rows


def build_tools() -> None:
    """Build the load generator, the net/http baseline and the in-process runner."""
    BIN.mkdir(parents=True, exist_ok=True)
    # inprocess imports serving/internal/model: build it in a workspace with serving/.
    work = BIN.parent / "go.work"
    work.unlink(missing_ok=True)
    init = ["go", "work", "init", str(ROOT / "bench" / "inprocess"), str(ROOT / "serving")]
    subprocess.run(init, cwd=work.parent, env={**os.environ, "GOWORK": "off"}, check=True)
    for name, src in GO_TOOLS.items():
        argv = ["go", "build", "-trimpath", "-o", str(BIN / name), "."]
        env = {**os.environ, "GOWORK": str(work) if name == "inprocess" else "off"}
        subprocess.run(argv, cwd=ROOT / "bench" / src, env=env, check=True)


def wait_for_load(limit: float, max_wait: float = 900) -> float:
    """Poll the 1-minute load average every 30 s until it is below ``limit``; return it."""
    deadline = time.monotonic() + max_wait
    while (load1 := os.getloadavg()[0]) >= limit and time.monotonic() < deadline:
        print(f"waiting: load average {load1:.2f} >= {limit}", flush=True)
        time.sleep(30)
    return load1


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="small,resnet50")
    parser.add_argument("--servers", default=SERVERS)
    parser.add_argument("--levels", default="1,8,64", help="concurrency levels")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds measured per level")
    parser.add_argument("--repeat", type=int, default=2, help="trials per level; the best counts")
    parser.add_argument("--warmup", type=float, default=1.0, help="least warm-up s per level")
    parser.add_argument("--inprocess-seconds", type=float, default=3.0)
    parser.add_argument("--no-inprocess", action="store_true")
    parser.add_argument("--server-cpus", default="0", help="taskset list for servers")
    parser.add_argument(
        "--loadgen-cpus",
        default="1" if (os.cpu_count() or 1) > 1 else "0",
        help="taskset list for the load generator",
    )
    parser.add_argument("--predictor", type=Path, default=ROOT / "build" / "predictor")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--wait-for-load", type=float, default=0, help="wait for load avg below")
    parser.add_argument(
        "--latest", action="store_true", help="also write bench/latest.md and .png (the README's)"
    )
    args = parser.parse_args(argv)
    args.levels = [int(c) for c in args.levels.split(",")]
    wanted = args.servers.split(",")
    workers = len(procstats.cpu_list(args.server_cpus))

    build_tools()
    # A snapshot, so a `make build` elsewhere cannot swap the binary mid-run.
    predictor = Path(shutil.copy2(args.predictor, BIN / "predictor"))
    load_before = wait_for_load(args.wait_for_load) if args.wait_for_load else os.getloadavg()[0]
    started = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "build" / "bench" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    models = [ensure_model(m, ROOT / "build" / "bench" / "models") for m in args.models.split(",")]
    runs, limits, notes = [], [], []
    for i, model in enumerate(models):
        if not args.no_inprocess:
            limits += inprocess(model, args)
        servers = servers_for(model, workers, predictor)
        names = [s.name for s in servers]
        if "go-predictor-batching" in wanted and "go-predictor-batching" not in names and not notes:
            notes.append("go-predictor-batching skipped: build/predictor --help has no --batching")
            print(f"note: {notes[-1]}", flush=True)
        for server in servers:
            endpoints = (["predict"] if server.serves_model else []) + (["noop"] if i == 0 else [])
            if server.name not in wanted or not endpoints:
                continue
            running = Running(server, args.server_cpus, log_dir, model.name)
            try:
                if server.serves_model:
                    running.check_predict(model)
                for endpoint in endpoints:
                    runs += measure(running, model, endpoint, args)
            finally:
                running.stop()
    result = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "wall_s": round(time.time() - started, 1),
        "command": "python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "machine": procstats.machine(args.server_cpus, args.loadgen_cpus),
        "load_avg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "versions": procstats.versions(predictor),
        "config": {
            "levels": args.levels,
            "duration_s": args.duration,
            "min_warmup_s": args.warmup,
            "trials_per_level": args.repeat,
            "server_workers": workers,
            "batching": {m.name: BATCHING[m.name] for m in models},
        },
        "runs": runs,
        "inprocess": limits,
        "notes": notes,
    }
    paths = report.write(result, args.out, stamp)
    if args.latest:
        report.write(result, ROOT / "bench", "latest")
        (ROOT / "bench" / "latest.json").unlink()  # the timestamped JSON is the record
    print(paths["md"].read_text())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return result


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _progress(r: dict) -> str:
    return (
        f"  {r['model']:9} {r['server']:22} c={r['concurrency']:<3} {r['rps']:>9.1f} req/s "
        f"p99 {r['p99_ms']:>8.1f} ms  errors {r['errors']}  rss {r['peak_rss_mib']} MiB"
    )


if __name__ == "__main__":
    main()
