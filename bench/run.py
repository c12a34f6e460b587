"""``make bench``: the Go predictor against Python serving, side by side, in one run.

For each model (``small``: the demo's CNN, ``resnet50``) every server is started
alone on loopback, pinned with ``taskset`` to the server core(s), and driven by
the Go load generator (``bench/loadgen``) pinned to the other core(s), at each
concurrency for a bounded time:

- ``go-predictor``: ``build/predictor`` (and ``go-predictor-batching`` when its
  ``--help`` lists the batching flags);
- ``flask``: Flask under gunicorn (gthread), ``bench/servers/flask_app.py``;
- ``fastapi``: FastAPI under uvicorn (uvloop, httptools), ``bench/servers/fastapi_app.py``;
- ``kserve``: KServe's Python ModelServer with a custom ``kserve.Model``
  (``bench/servers/kserve_app.py``, in ``build/kserve-venv``), driven with the
  Open Inference Protocol v2 body (``POST /v2/models/{name}/infer``);
- ``go-predictor-v2``: the predictor driven with that same v2 body, KServe's
  like-for-like counterpart (the other rows use TF Serving's ``:predict``);
- ``go-predictor-grpc``, ``go-predictor-grpc-v2``: the predictor over gRPC, on
  its ``--grpc-listen-addr``: TF Serving's ``PredictionService/Predict`` with
  the image as the one element of the ``image_bytes`` string tensor, and KServe
  v2's ``GRPCInferenceService/ModelInfer`` with it in ``raw_input_contents``
  (the load generator's ``-grpc`` mode, one HTTP/2 connection); the report
  sets them against ``go-predictor`` and ``go-predictor-v2`` (gRPC ÷ REST);
- ``go-nethttp``: plain Go net/http, only for the no-model endpoint
  (``GET /v2/health/live``, a constant, which every server has).

After its closed-loop levels, each model server gets an open-loop sweep: Poisson
arrivals at rising rates, geometric from 0.3 times its best closed-loop req/s
up to 1.3 times it, each request timed from when it was due, until the
first rate whose p99 misses the model's target (``SLO_P99_MS``); the highest
rate held is the server's throughput at that latency.

Also measured on the same core(s): the in-process limit of each model, from
Python (signature in a loop) and from Go (the predictor's model package in a
loop, ``bench/inprocess``); and, for the predictor with and without batching,
its ratio to that limit in alternating windows with a CPU profile of where the
rest goes (``bench/paired.py``). Writes ``<out>/<timestamp>.json``, ``.md``, ``.png``
and ``-sweep.png`` and prints the tables (``bench/report.py``).

``--containers`` runs each server in its container image instead, under a
1-CPU CFS quota (``--cpus=1``, what a Kubernetes CPU limit gives) rather than
pinned with taskset, on the host's loopback, the model mounted read-only
(``bench/containers.py``); every row is tagged with its mode, and the report
adds each server's time to ready from ``<engine> run``, image size and peak
memory. ``go-nethttp`` has no image and is left out there. ``make bench`` runs
both modes, the second with ``--containers-if-built``.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import containers  # noqa: E402
import paired  # noqa: E402
import procstats  # noqa: E402
import report  # noqa: E402
from models import CLASSES, BenchModel, ensure_model  # noqa: E402

from pipelines.predictor_process import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "build" / "bench" / "bin"
VENV_BIN = Path(sys.executable).parent
KSERVE_PYTHON = ROOT / "build" / "kserve-venv" / "bin" / "python"  # make kserve-venv
BATCH_FLAGS = ("--batching", "--max-batch-size", "--batch-timeout")
# Batching settings per model: the largest batch that still raises throughput
# in-process (32 for the small CNN, 8 for ResNet50) and a short wait.
BATCHING = {"small": ("32", "2ms"), "resnet50": ("8", "2ms")}
INPROCESS_BATCHES = {"small": "1,32", "resnet50": "1,8"}
GO_TOOLS = {"loadgen": "loadgen", "go_noop": "servers/go_noop", "inprocess": "inprocess"}
SERVERS = (
    "go-predictor,go-predictor-batching,go-predictor-v2,go-predictor-grpc,go-predictor-grpc-v2,"
    "flask,fastapi,kserve,go-nethttp"
)
LOADGEN_BOUND = 0.9  # share of its core(s) above which the load generator is the limit
# The open-loop sweep's p99 targets: an interactive budget for the small CNN (about 1 ms
# of compute per image, so 50 ms is mostly queueing room), and 500 ms for ResNet50
# (about 40 ms per image on one core: a dozen requests' worth of queue).
SLO_P99_MS = {"small": 50.0, "resnet50": 500.0}
SWEEP_TO = 1.3  # the sweep's last rate, as a multiple of the server's best closed-loop req/s
# A rate's window is long enough for this many arrivals (a p99 of fewer is the maximum),
# up to 2.5 times --sweep-seconds: it matters for ResNet50's few requests/s.
SWEEP_MIN_REQUESTS = 80
SWEEP_MAX_INFLIGHT = 64  # the closed loop's largest connection count: the same pool


@dataclass
class Server:
    """How to start one server: its argv given a port, and whether it serves the model."""

    name: str
    argv: list[str]  # "{port}", "{grpc_port}" and "{debug_port}" are replaced
    env: dict[str, str]
    serves_model: bool = True
    # The predict request it is sent: "v1" (TF Serving REST), "v2" (OIP REST), or over
    # gRPC "grpc-predict" (TF Serving Predict) or "grpc-infer" (KServe v2 ModelInfer).
    api: str = "v1"
    noop: bool = True  # also measured on the no-model endpoint
    image: str | None = None  # --containers: the image it runs in (argv[0] its entrypoint)


@dataclass(frozen=True)
class Layout:
    """Where the servers' programs and the models are: on this host, or inside the images."""

    predictor: str
    python_bin: Path  # gunicorn, uvicorn
    kserve_python: Path
    servers_dir: Path  # bench/servers
    models: Path  # holds <model name>/<N>/
    predictor_image: str | None = None
    peers_image: str | None = None

    @classmethod
    def host(cls, predictor: Path, models: Path) -> "Layout":
        return cls(str(predictor), VENV_BIN, KSERVE_PYTHON, ROOT / "bench" / "servers", models)

    @classmethod
    def images(cls) -> "Layout":
        """The predictor image and the bench peers image (``bench/containers.py``)."""
        return cls(
            containers.PREDICTOR_BINARY,
            containers.PEERS_VENV_BIN,
            containers.PEERS_VENV_BIN / "python",
            containers.PEERS_SERVERS_DIR,
            containers.MODELS_MOUNT,
            containers.PREDICTOR_IMAGE,
            containers.PEERS_IMAGE,
        )


def servers_for(model: BenchModel, workers: int, layout: Layout, batching: str | None) -> list:
    """Every server of the comparison, configured for ``model``; ``batching`` is the value
    of the predictor's ``--batching`` flag (``batching_flags``), None when it has none."""
    base, name = str(layout.models / model.name), model.name
    servers_dir = layout.servers_dir
    py_env = {"BENCH_MODEL_BASE_PATH": base, "BENCH_MODEL_NAME": name}
    go = [layout.predictor, "--listen-addr=127.0.0.1:{port}", f"--model-base-path={base}"]
    go += [f"--model-name={name}", "--log-level=warn"]  # no access log, like the Python servers
    go += ["--debug-addr=127.0.0.1:{debug_port}"]  # Go's profiler, for bench/paired.py
    grpc = [*go, "--grpc-listen-addr=127.0.0.1:{grpc_port}"]
    go += ["--grpc-listen-addr="]  # the REST rows: no gRPC listener
    uvicorn_workers = ["--workers", str(workers)] if workers > 1 else []
    kserve = [str(layout.kserve_python), str(servers_dir / "kserve_app.py")]
    kserve += ["--http_port", "{port}", "--model_name", name, "--model_dir", base]
    kserve += ["--workers", str(workers), "--enable_grpc", "false"]  # REST only is measured
    kserve += ["--configure_logging", "false", "--enable_latency_logging", "false"]  # no access log
    go_image, py_image = layout.predictor_image, layout.peers_image
    servers = [
        Server("go-predictor", go, {}, image=go_image),
        Server("go-predictor-v2", go, {}, api="v2", noop=False, image=go_image),  # noop: above
        Server("go-predictor-grpc", grpc, {}, api="grpc-predict", noop=False, image=go_image),
        Server("go-predictor-grpc-v2", grpc, {}, api="grpc-infer", noop=False, image=go_image),
        Server(
            "flask",
            [str(layout.python_bin / "gunicorn"), "--chdir", str(servers_dir)]
            + ["--bind", "127.0.0.1:{port}", "--worker-class", "gthread"]
            + ["--workers", str(workers), "--threads", "8", "--timeout", "120"]
            + ["--log-level", "warning", "flask_app:create_app()"],
            py_env,
            image=py_image,
        ),
        Server(
            "fastapi",
            [str(layout.python_bin / "uvicorn"), "--app-dir", str(servers_dir)]
            + ["--host", "127.0.0.1", "--port", "{port}", *uvicorn_workers]
            + ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
            + ["--log-level", "warning", "fastapi_app:app"],
            py_env,
            image=py_image,
        ),
        Server("kserve", kserve, {}, api="v2", image=py_image),
    ]
    if go_image is None:  # no image: plain net/http runs on the host only
        noop = [str(BIN / "go_noop"), "--listen-addr=127.0.0.1:{port}"]
        servers.append(Server("go-nethttp", noop, {}, False))
    if batching is not None:
        size, timeout = BATCHING[name]
        flags = [f"--batching={batching}", f"--max-batch-size={size}", f"--batch-timeout={timeout}"]
        servers.insert(1, Server("go-predictor-batching", go + flags, {}, image=go_image))
    return servers


def paired_batch(server: str, model: str) -> int | None:
    """The batch size of the in-process limit a predictor row is set against in alternating
    windows (``bench/paired.py``): its largest batch with batching, else 1; None for the
    other rows."""
    if server == "go-predictor-batching":
        return int(BATCHING[model][0])
    return 1 if server == "go-predictor" else None


def paired_tools(run: "Running", model: BenchModel, args, log_dir: Path) -> paired.Tools:
    """The two sides of ``bench/paired.py``: the in-process runner on the host, pinned to the
    server core(s) (in --containers mode too), and the load generator on ``run``."""
    target = run.predict_target(model)
    return paired.Tools(
        ["taskset", "-c", args.server_cpus, str(BIN / "inprocess")],
        lambda c, warmup, seconds: load(target, c, warmup, seconds, args.loadgen_cpus),
        log_dir / f"inprocess-paired-{run.server.name}-{model.name}.log",
    )


def batching_flags(help_argv: list[str], env: dict[str, str] | None = None) -> str | None:
    """The value that turns batching on ("true"), or None when the predictor has no batching.

    ``help_argv`` runs the predictor with ``--help``: the binary, or the image through the
    engine (``env``: the engine's environment).
    """
    out = subprocess.run(help_argv, capture_output=True, text=True, env=env or _env({}))
    text = out.stdout + out.stderr
    if not all(f"{flag} " in text or f"{flag}\n" in text for flag in BATCH_FLAGS):
        return None
    return "true"


class Running:
    """A started server: its process, URL and time to ready.

    On the host it is pinned with taskset to ``cpus``; with ``server.image`` it is a
    container under a quota of ``cpus`` CPUs (``containers.Container``), and ``proc`` is
    the engine's ``run`` in the foreground, so the time to ready counts the engine's start.
    """

    def __init__(self, server: Server, cpus: str, log_dir: Path, model_name: str,
                 mounts: Sequence[containers.Mount] = ()):  # fmt: skip
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.grpc_addr = f"127.0.0.1:{free_port()}" if server.api.startswith("grpc") else ""
        argv = [a.replace("{port}", str(self.port)) for a in server.argv]
        argv = [a.replace("127.0.0.1:{grpc_port}", self.grpc_addr) for a in argv]
        self.debug_addr = ""
        if any("{debug_port}" in a for a in argv):
            self.debug_addr = f"127.0.0.1:{free_port()}"
            argv = [a.replace("127.0.0.1:{debug_port}", self.debug_addr) for a in argv]
        self.log = log_dir / f"{server.name}-{model_name}.log"
        self.container = None
        if server.image is not None:
            name = f"imgclf-bench-{server.name}-{self.port}"
            self.container = containers.Container(
                name, server.image, argv, server.env, list(mounts), cpus
            )
        start = time.monotonic()
        with self.log.open("w") as log:
            if self.container is not None:
                self.proc = self.container.start(log)
            else:
                self.proc = subprocess.Popen(
                    ["taskset", "-c", cpus, *argv],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_env(server.env),
                    cwd=ROOT,
                    start_new_session=True,
                )
        self.ready_s = self._wait_ready(start)
        if self.container is not None:
            try:
                self.container.attach()
            except Exception:
                self.stop()
                raise

    def cpu_seconds(self) -> float:
        """CPU seconds the server used so far (its process tree, or its container's cgroup)."""
        if self.container is not None:
            return self.container.cpu_seconds()
        return procstats.cpu_seconds(self.proc.pid)

    def peak_rss_mib(self) -> int:
        """Summed peak RSS of the server's processes."""
        if self.container is not None:
            return self.container.peak_rss_mib()
        return procstats.peak_rss_mib(self.proc.pid)

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

    def predict_target(self, model: BenchModel) -> list[str]:
        """The load generator's flags for this server's predict request: a URL and the
        body it POSTs, or over gRPC the address, the call and the image."""
        if self.server.api.startswith("grpc-"):
            api = self.server.api.removeprefix("grpc-")
            flags = ["-grpc", self.grpc_addr, "-api", api]
            return [*flags, "-model", model.name, "-image", str(model.image)]
        url, body = self.predict_url(model)
        return ["-url", url, "-body", str(body)]

    def predict_url(self, model: BenchModel) -> tuple[str, Path]:
        """The REST predict URL of this server's protocol and the body POSTed to it."""
        if self.server.api == "v2":
            return f"{self.url}/v2/models/{model.name}/infer", model.body_v2
        return f"{self.url}/v1/models/{model.name}:predict", model.body

    def check_predict(self, model: BenchModel) -> None:
        """One request by hand: every server must answer the same shape."""
        if self.server.api.startswith("grpc-"):
            argv = [str(BIN / "loadgen"), *self.predict_target(model), "-check"]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=150)
            if done.returncode != 0:
                raise RuntimeError(f"{self.server.name}: {done.stderr[-1500:]}")
            _check_prediction(self.server.name, json.loads(done.stdout))
            return
        url, body = self.predict_url(model)
        req = urllib.request.Request(url, data=body.read_bytes())
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=120) as r:
            reply = json.loads(r.read())
        if self.server.api == "v2":
            outputs = {o["name"]: o["data"] for o in reply["outputs"]}
            prediction = {"label": outputs["label"][0], "probabilities": outputs["probabilities"]}
        else:
            prediction = reply["predictions"][0]
        _check_prediction(self.server.name, prediction)

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop(self.proc)
        elif self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _check_prediction(server: str, prediction: dict) -> None:
    if prediction["label"] not in CLASSES or len(prediction["probabilities"]) != len(CLASSES):
        raise RuntimeError(f"{server}: unexpected prediction {prediction}")


def load(target: list[str], c: int, warmup: float, seconds: float, cpus: str) -> dict:
    """Run the load generator once on ``target`` (``Running.predict_target``); its JSON result."""
    argv = ["taskset", "-c", cpus, str(BIN / "loadgen"), *target, "-c", str(c)]
    argv += ["-d", f"{seconds}s", "-warmup", f"{warmup:.2f}s"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(run: Running, model: BenchModel, endpoint: str, args: argparse.Namespace) -> list:
    """Every concurrency level on one endpoint of a running server; one row per level."""
    if endpoint == "predict":
        target = run.predict_target(model)
    else:
        target = ["-url", f"{run.url}/v2/health/live"]
    rows, prev_rps = [], None
    loadgen_cpus = procstats.cpu_list(args.loadgen_cpus)
    for c in args.levels:
        # Long enough for a closed loop of c requests to reach its steady queue.
        warmup = paired.warmup_s(c, prev_rps, args.warmup)
        # Best of --repeat trials: on a shared machine interference only slows a trial down.
        trials = [trial(run, target, c, warmup, args) for _ in range(args.repeat)]
        res, cpu, throttled = max(trials, key=lambda t: t[0]["rps"])
        util = res["loadgen_cpu_s"] / (warmup + args.duration) / len(loadgen_cpus)
        rows.append(
            {
                "model": model.name if endpoint == "predict" else "no-model",
                "server": run.server.name,
                "mode": "containers" if run.container else "host",
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
                "peak_rss_mib": run.peak_rss_mib(),
                "ready_s": round(run.ready_s, 2),
                "warmup_s": round(warmup, 2),
                "loadgen_cpu_util": round(util, 2),
                # Near 100% of its core(s) the load generator measured itself, not the server.
                "loadgen_bound": util >= LOADGEN_BOUND,
                "trials_rps": [round(t[0]["rps"], 1) for t in trials],
            }
        )
        if run.container is not None:
            # The cgroup's peak since the start, and the share of CFS periods in the trial
            # whose quota ran out before the period did.
            rows[-1]["peak_mem_mib"] = run.container.peak_memory_mib()
            rows[-1]["throttled_share"] = throttled
        prev_rps = res["rps"] or None
        print(_progress(rows[-1]), flush=True)
    return rows


def trial(run: Running, target: list[str], c: int, warmup: float, args) -> tuple:
    """One load generator run, the server's CPU seconds during it and, in a container, the
    share of CFS periods throttled (None on the host)."""
    cpu0 = run.cpu_seconds()
    periods0 = run.container.throttling() if run.container else (0, 0)
    res = load(target, c, warmup, args.duration, args.loadgen_cpus)
    cpu = run.cpu_seconds() - cpu0
    if run.container is None:
        return res, cpu, None
    periods, throttled = (b - a for a, b in zip(periods0, run.container.throttling(), strict=True))
    return res, cpu, round(throttled / periods, 3) if periods else 0.0


def sweep_rates(closed_max: float, start: float, step: float) -> list[float]:
    """Offered rates: ``closed_max`` times start, start*step, ... below SWEEP_TO, then SWEEP_TO."""
    fractions, f = [], start
    while f < SWEEP_TO:
        fractions.append(f)
        f *= step
    return [round(closed_max * f, 1) for f in fractions + [SWEEP_TO]]


def sweep(run: Running, model: BenchModel, closed_max: float, args) -> list[dict]:
    """Open-loop rates up to the first whose p99 misses the target; one row per rate."""
    load_target = run.predict_target(model)
    target = SLO_P99_MS[model.name]
    # Past 20 times the target a reply is a miss however it ends; the drain stays short.
    timeout = max(2.0, 20 * target / 1000)
    loadgen_cpus = procstats.cpu_list(args.loadgen_cpus)
    # The closed loop's last level left up to 64 requests in the server's queue (its
    # clients stop waiting, the server still computes them: seconds for ResNet50). One
    # request by hand waits behind them, so the sweep starts on an idle server.
    run.check_predict(model)
    rows = []
    for rate in sweep_rates(closed_max, args.sweep_from, args.sweep_step):
        seconds = min(2.5 * args.sweep_seconds, max(args.sweep_seconds, SWEEP_MIN_REQUESTS / rate))
        argv = ["taskset", "-c", args.loadgen_cpus, str(BIN / "loadgen"), *load_target]
        argv += ["-rate", str(rate), "-arrival", "poisson"]
        argv += ["-max-inflight", str(SWEEP_MAX_INFLIGHT), "-timeout", f"{timeout}s"]
        argv += ["-d", f"{seconds:.2f}s", "-warmup", f"{args.sweep_warmup}s"]
        started = time.monotonic()
        res = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
        util = res["loadgen_cpu_s"] / (time.monotonic() - started) / len(loadgen_cpus)
        held = res["ok"] > 0 and not res["errors"] and not res["dropped"]
        rows.append(
            {
                "model": model.name,
                "server": run.server.name,
                "offered_rps": rate,
                "achieved_rps": round(res["achieved_rps"], 1),
                "seconds": round(seconds, 2),
                **{k: res[k] for k in ("scheduled", "sent", "ok", "errors", "dropped")},
                **{k: res[k] for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "send_lag_p99_ms")},
                "first_error": res.get("first_error", ""),
                "target_p99_ms": target,
                # Held: every request due in the window answered 200, p99 within the target.
                "held": held and res["p99_ms"] <= target,
                "loadgen_cpu_util": round(util, 2),
            }
        )
        print(_sweep_progress(rows[-1]), flush=True)
        if not rows[-1]["held"]:
            break
    return rows


def inprocess(model: BenchModel, args: argparse.Namespace) -> list[dict]:
    """The in-process limits on the servers' core(s): Python signature loop, Go model loop."""
    secs = args.inprocess_seconds * (1.5 if model.name == "resnet50" else 1)
    batches = INPROCESS_BATCHES[model.name]
    pin = ["taskset", "-c", args.server_cpus]
    common = ["--model", str(model.version_dir), "--image", str(model.image)]
    py = [sys.executable, str(ROOT / "bench" / "inprocess.py"), *common]
    go = [str(BIN / "inprocess"), "-model", str(model.version_dir), "-image", str(model.image)]
    min_calls = ["-min-calls", str(paired.MIN_CALLS)]
    rows = []
    for runner, argv in (
        ("python", py + ["--batches", batches, "--seconds", str(secs)]),
        ("go", go + ["-batches", batches, "-goroutines", "1,2", "-d", f"{secs}s", *min_calls]),
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
    parser.add_argument("--no-sweep", action="store_true", help="closed-loop levels only")
    parser.add_argument(
        "--no-paired", action="store_true", help="no predictor ÷ limit rounds (bench/paired.py)"
    )
    parser.add_argument("--paired-rounds", type=int, help="rounds per predictor row (per model)")
    parser.add_argument("--paired-seconds", type=float, help="s per paired window (per model)")
    parser.add_argument(
        "--sweep-from", type=float, default=0.3, help="first open-loop rate / closed-loop best"
    )
    parser.add_argument("--sweep-step", type=float, default=1.25, help="ratio of successive rates")
    parser.add_argument("--sweep-seconds", type=float, default=4.0, help="least s per rate")
    parser.add_argument("--sweep-warmup", type=float, default=1.0, help="unmeasured s per rate")
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
        "--latest",
        action="store_true",
        help="also write bench/latest.md and .png (the README's; latest-containers.* with "
        "--containers)",
    )
    parser.add_argument(
        "--containers",
        action="store_true",
        help="run each server in its image under a CPU quota instead of taskset "
        "(make images, make bench-images); the in-process limits still use --server-cpus",
    )
    parser.add_argument(
        "--containers-if-built",
        action="store_true",
        help="--containers when an engine runs and the images are built; else say why and "
        "exit 0 (make bench's second run)",
    )
    parser.add_argument(
        "--container-cpus", default="1", help="--containers: each server's CPU limit (--cpus)"
    )
    args = parser.parse_args(argv)
    if args.containers_if_built:
        try:
            containers.check(needed_images(args.servers.split(",")))
        except containers.Unavailable as err:
            print(f"bench: container mode skipped: {err}", flush=True)
            return {}
        args.containers = True
    args.levels = [int(c) for c in args.levels.split(",")]
    wanted = args.servers.split(",")
    workers = len(procstats.cpu_list(args.server_cpus))
    images: dict[str, dict] = {}
    if args.containers:
        workers = max(1, int(float(args.container_cpus)))
        try:
            containers.check(needed_images(wanted))
        except containers.Unavailable as err:
            raise SystemExit(f"bench: {err}") from None
        images = {image: containers.image_info(image) or {} for image in needed_images(wanted)}
    elif "kserve" in wanted and not KSERVE_PYTHON.exists():
        parser.error(f"{KSERVE_PYTHON} missing: run `make kserve-venv`, or leave kserve out")

    build_tools()
    # A snapshot, so a `make build` elsewhere cannot swap the binary mid-run.
    predictor = Path(shutil.copy2(args.predictor, BIN / "predictor"))
    model_root = ROOT / "build" / "bench" / "models"
    if args.containers:
        layout = Layout.images()
        engine = containers.container_engine.engine()
        help_argv = [engine, "run", "--rm", "--pull=never", "--network=none"]
        help_argv += [containers.PREDICTOR_IMAGE, "--help"]
        help_env = containers.container_engine.engine_env()
        batching_of = f"{containers.PREDICTOR_IMAGE} --help"
    else:
        layout = Layout.host(predictor, model_root)
        help_argv, help_env, batching_of = (
            [str(predictor), "--help"],
            None,
            "build/predictor --help",
        )
    predictor_wanted = any(name.startswith("go-predictor") for name in wanted)
    batching = batching_flags(help_argv, help_env) if predictor_wanted else None
    load_before = wait_for_load(args.wait_for_load) if args.wait_for_load else os.getloadavg()[0]
    started = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "build" / "bench" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    models = [ensure_model(m, model_root) for m in args.models.split(",")]
    runs, sweeps, limits, pairs, notes, started_containers = [], [], [], [], [], []
    if "go-predictor-batching" in wanted and predictor_wanted and batching is None:
        notes.append(f"go-predictor-batching skipped: {batching_of} has no --batching")
        print(f"note: {notes[-1]}", flush=True)
    if args.containers and "go-nethttp" in wanted:
        notes.append("go-nethttp skipped: it has no image (--containers)")
        print(f"note: {notes[-1]}", flush=True)
    for i, model in enumerate(models):
        if not args.no_inprocess:
            limits += inprocess(model, args)
        mounts = [containers.Mount(model.base_path, containers.MODELS_MOUNT / model.name)]
        for server in servers_for(model, workers, layout, batching):
            noop = ["noop"] if i == 0 and server.noop else []
            endpoints = (["predict"] if server.serves_model else []) + noop
            if server.name not in wanted or not endpoints:
                continue
            cpus = args.container_cpus if args.containers else args.server_cpus
            running = Running(server, cpus, log_dir, model.name, mounts)
            try:
                if server.serves_model:
                    running.check_predict(model)
                for endpoint in endpoints:
                    rows = measure(running, model, endpoint, args)
                    runs += rows
                    batch = paired_batch(server.name, model.name)
                    if endpoint == "predict" and batch and not args.no_paired:
                        tools = paired_tools(running, model, args, log_dir)
                        scale = (args.paired_rounds, args.paired_seconds)
                        pairs.append(paired.measure(running, model, batch, tools, *scale))
                    if endpoint == "predict" and not args.no_sweep:
                        best = max(r["rps"] for r in rows)
                        if best > 0:
                            sweeps += sweep(running, model, best, args)
                if running.container is not None:
                    started_containers.append(container_row(running, model, images))
            finally:
                running.stop()
    result = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "wall_s": round(time.time() - started, 1),
        "command": "python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "machine": procstats.machine(args.server_cpus, args.loadgen_cpus),
        "load_avg_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "versions": versions(predictor, wanted, args.containers),
        "mode": "containers" if args.containers else "host",
        "config": {
            "levels": args.levels,
            "duration_s": args.duration,
            "min_warmup_s": args.warmup,
            "trials_per_level": args.repeat,
            "server_workers": workers,
            "batching": {m.name: BATCHING[m.name] for m in models},
            "paired": None
            if args.no_paired
            else {
                "rounds": {m.name: args.paired_rounds or paired.ROUNDS[m.name] for m in models},
                "concurrency": {m.name: paired.CONCURRENCY[m.name] for m in models},
                "window_s": {
                    m.name: args.paired_seconds or paired.WINDOW_S[m.name] for m in models
                },
            },
            "sweep": None
            if args.no_sweep
            else {
                "arrival": "poisson",
                "from": args.sweep_from,
                "step": args.sweep_step,
                "to": SWEEP_TO,
                "seconds": args.sweep_seconds,
                "min_requests": SWEEP_MIN_REQUESTS,
                "warmup_s": args.sweep_warmup,
                "max_inflight": SWEEP_MAX_INFLIGHT,
                "target_p99_ms": {m.name: SLO_P99_MS[m.name] for m in models},
            },
        },
        "runs": runs,
        "sweeps": sweeps,
        "inprocess": limits,
        "paired": pairs,
        "notes": notes,
    }
    if args.containers:
        result["config"]["containers"] = {
            "engine": containers.container_engine.engine(),
            "cpus": args.container_cpus,
            "network": "host (loopback)",
            "images": list(images.values()),
        }
        result["containers"] = started_containers
    paths = report.write(result, args.out, stamp)
    if args.latest:
        latest = "latest-containers" if args.containers else "latest"
        report.write(result, ROOT / "bench", latest)
        (ROOT / "bench" / f"{latest}.json").unlink()  # the timestamped JSON is the record
    print(paths["md"].read_text())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return result


def needed_images(wanted: list[str]) -> list[str]:
    """The images ``--containers`` runs for the servers in ``wanted``."""
    out = []
    if any(name.startswith("go-predictor") for name in wanted):
        out.append(containers.PREDICTOR_IMAGE)
    if set(wanted) & {"flask", "fastapi", "kserve"}:
        out.append(containers.PEERS_IMAGE)
    return out


def container_row(run: Running, model: BenchModel, images: dict[str, dict]) -> dict:
    """What one server's container cost: time to ready, image, peak memory, CPU quota."""
    assert run.container is not None
    image = images[run.container.image]
    return {
        "model": model.name,
        "server": run.server.name,
        "container": run.container.name,
        "image": image["image"],
        "image_id": image["id"],
        "image_mb": image["size_mb"],
        "ready_s": round(run.ready_s, 2),
        "peak_mem_mib": run.container.peak_memory_mib(),
        "peak_rss_mib": run.peak_rss_mib(),
        "cpu_quota": run.container.quota,
    }


def versions(predictor: Path, wanted: list[str], in_containers: bool) -> dict:
    """What ran: the host's versions, or with ``in_containers`` the peers image's packages."""
    peers = in_containers and bool(set(wanted) & {"flask", "fastapi", "kserve"})
    kserve_python = KSERVE_PYTHON if "kserve" in wanted and not in_containers else None
    out = procstats.versions(predictor, kserve_python)
    if peers:
        packages = ("tensorflow-cpu", "keras", "flask", "gunicorn", "fastapi", "uvicorn", "uvloop")
        if "kserve" in wanted:
            packages += ("kserve",)
        out.update(containers.image_versions(containers.PEERS_IMAGE, packages))
    return out


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _progress(r: dict) -> str:
    return (
        f"  {r['model']:9} {r['server']:22} c={r['concurrency']:<3} {r['rps']:>9.1f} req/s "
        f"p99 {r['p99_ms']:>8.1f} ms  errors {r['errors']}  rss {r['peak_rss_mib']} MiB"
    )


def _sweep_progress(r: dict) -> str:
    return (
        f"  {r['model']:9} {r['server']:22} open {r['offered_rps']:>8.1f} req/s: "
        f"{r['achieved_rps']:>8.1f} ok/s p99 {r['p99_ms']:>8.1f} ms  errors {r['errors']}  "
        f"dropped {r['dropped']}  {'held' if r['held'] else 'missed'} {r['target_p99_ms']:g} ms"
    )


if __name__ == "__main__":
    main()
