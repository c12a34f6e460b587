"""The soak scenarios. Each starts its own predictor, runs a steady load, injects its
faults, and returns its figures; ``failed`` counts answers that were wrong or missing
where the scenario promises an answer."""

import base64
import gzip
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.procstats import status_kib
from bench.soak.load import SteadyLoad, send
from bench.soak.models import SoakModels, answered_version, corrupt_copy
from components.storage import open_store, publish_version
from pipelines.predictor_process import LocalPredictor

MODEL = "soak"
POLL = "300ms"
PREDICT = f"/v1/models/{MODEL}:predict"
V2_INFER = f"/v2/models/{MODEL}/infer"
RACE_S = 0.02
LOADGEN = Path(__file__).resolve().parents[1] / "loadgen"  # its module holds grpchostile
# The gRPC codes of a refused bad request: the client's fault (HTTP's 4xx), not the
# server's (UNKNOWN, INTERNAL) nor no answer (UNAVAILABLE, DEADLINE_EXCEEDED).
GRPC_CLIENT_ERRORS = frozenset(
    {"InvalidArgument", "NotFound", "ResourceExhausted", "FailedPrecondition", "OutOfRange",
     "Unimplemented", "AlreadyExists", "PermissionDenied", "Unauthenticated"}
)  # fmt: skip


@dataclass
class Figures:
    scenario: str
    requests_sent: int = 0
    requests_failed: int = 0
    faults_injected: int = 0
    faults_survived: int = 0
    bad_inputs_tried: int = 0
    bad_inputs_4xx: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    notes: dict = field(default_factory=dict)

    def asdict(self) -> dict:
        return asdict(self)


def rss_mb(pid: int) -> float:
    """The process's resident set now, in MiB."""
    return status_kib(pid, "VmRSS") / 1024


def wait_for(predicate, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def served_versions(predictor: LocalPredictor) -> dict[str, dict]:
    status, body = predictor.request("GET", f"/v1/models/{MODEL}")
    if status != 200:
        return {}
    return {v["version"]: v for v in body["model_version_status"]}


def is_available(predictor: LocalPredictor, version: int) -> bool:
    return served_versions(predictor).get(str(version), {}).get("state") == "AVAILABLE"


def count_wrong(answers, models: SoakModels, allowed: tuple[str, ...] = ("A",)) -> int:
    """Answers that are not a 200 with exactly the output of one of the ``allowed`` models."""
    return sum(1 for a in answers if a.status != 200 or models.which(a.body) not in allowed)


def _predictor(base: Path | str, workdir: Path, *extra: str, poll: bool = False) -> LocalPredictor:
    """The predictor on ``base``; ``poll`` makes it look for new versions every 300 ms."""
    return LocalPredictor(
        base, MODEL, log_path=workdir / f"predictor-{time.monotonic_ns()}.log",
        extra_args=((f"--poll-interval={POLL}",) if poll else ()) + extra,
    )  # fmt: skip


def new_versions(models: SoakModels, workdir: Path, count: int, every_s: float) -> Figures:
    """Publish ``count`` versions (alternating models B and A) while serving.

    The load asks the v2 endpoint, whose answers name the version that computed them:
    each must be exactly that version's model. Once a version is reported AVAILABLE, a
    request started later must come from it or a newer one; requests started before
    (in flight across the swap) may still come from the old one.
    """
    base = workdir / "versions"
    model_of = {publish_version(models.exports["A"], str(base), MODEL).version: "A"}
    figures = Figures("new versions while serving")
    reported_at: dict[int, float] = {}  # version -> when its status first read AVAILABLE
    with _predictor(base / MODEL, workdir, poll=True) as predictor:
        figures.rss_start_mb = rss_mb(predictor.process.pid)
        with SteadyLoad(predictor.url, V2_INFER, models.v2_body) as load:
            for i in range(count):
                name = "BA"[i % 2]
                version = publish_version(models.exports[name], str(base), MODEL).version
                model_of[version] = name
                if wait_for(lambda v=version: is_available(predictor, v), 30):
                    reported_at[version] = time.monotonic()
                time.sleep(every_s)
        figures.rss_end_mb = rss_mb(predictor.process.pid)
    answers = load.result.answers
    wrong = [a for a in answers if a.status != 200 or
             models.which(a.body) != model_of.get(answered_version(a.body) or 0)]  # fmt: skip
    stale = [
        a for a in answers if a.status == 200 and (answered_version(a.body) or 0) < max(
            (v for v, t in reported_at.items() if t <= a.started), default=0)
    ]  # fmt: skip
    figures.requests_sent = len(answers)
    figures.requests_failed = len(wrong) + len(stale)
    figures.faults_injected, figures.faults_survived = count, len(reported_at)  # version swaps
    served = Counter(str(answered_version(a.body)) for a in answers if a.status == 200)
    figures.notes = {"versions_published": count, "versions_served": len(reported_at),
                     "models_seen_in_answers": sorted({model_of[int(v)] for v in served}),
                     "answers_per_version": dict(sorted(served.items(), key=lambda kv: int(kv[0]))),
                     "wrong_for_their_version": len(wrong),
                     "stale_after_swap_reported": len(stale)}  # fmt: skip
    return figures


def bad_versions(models: SoakModels, workdir: Path) -> Figures:
    """A corrupt, a partial and an empty version appear; the good one keeps serving."""
    base = workdir / "bad"
    publish_version(models.exports["A"], str(base), MODEL)
    figures = Figures("corrupt, partial and empty versions", faults_injected=3)
    with _predictor(base / MODEL, workdir, poll=True) as predictor:
        figures.rss_start_mb = rss_mb(predictor.process.pid)
        with SteadyLoad(predictor.url, PREDICT, models.body) as load:
            corrupt = corrupt_copy(models.exports["A"], workdir / "corrupt")
            publish_version(corrupt, str(base), MODEL)  # version 2: complete but broken
            shutil.copytree(models.exports["B"], base / MODEL / "3")  # no _COMPLETE marker
            (base / MODEL / "4").mkdir()  # empty
            # Wait for the predictor to report the corrupt version, not for a fixed time;
            # the deadline only catches a predictor that never does.
            deadline = time.monotonic() + 60
            status = served_versions(predictor)
            while not _load_error(status, "2") and time.monotonic() < deadline:
                time.sleep(0.2)
                status = served_versions(predictor)
        figures.rss_end_mb = rss_mb(predictor.process.pid)
    figures.requests_sent = load.result.sent
    figures.requests_failed = count_wrong(load.result.answers, models)
    still_one = status.get("1", {}).get("state") == "AVAILABLE"
    reported = _load_error(status, "2")
    figures.faults_survived = 3 * still_one if figures.requests_failed == 0 else 0
    figures.notes = {"status": status, "corrupt_version_reported": reported}
    return figures


def _load_error(status: dict, version: str) -> bool:
    """Whether the predictor's status reports a load error for ``version``."""
    return bool(status.get(version, {}).get("status", {}).get("error_message"))


def store_goes_away(models: SoakModels, workdir: Path, store, outage: str) -> Figures:
    """The object store has an ``outage`` and comes back; serving and readiness continue
    and polling recovers. ``store`` is a bucket maker over a server with ``stop`` and
    ``start`` (tests/object_stores.py): the GCS emulator stops (connections refused),
    the S3 server is frozen (connections hang)."""
    base = f"{store.scheme}://{store.new_bucket('soak')}/models"
    publish_version(models.exports["A"], base, MODEL)
    figures = Figures(f"{store.scheme}:// store {outage}", faults_injected=1)
    with _predictor(f"{base}/{MODEL}", workdir, poll=True) as predictor:
        figures.rss_start_mb = rss_mb(predictor.process.pid)
        with SteadyLoad(predictor.url, PREDICT, models.body) as load:
            store.emulator.stop()
            time.sleep(2)
            ready_while_down = _ready(predictor.url)
            store.emulator.start()
            version = publish_version(models.exports["B"], base, MODEL).version
            recovered = wait_for(lambda: is_available(predictor, version), 30)
        figures.rss_end_mb = rss_mb(predictor.process.pid)
    figures.requests_sent = load.result.sent
    figures.requests_failed = count_wrong(load.result.answers, models, allowed=("A", "B"))
    figures.faults_survived = int(ready_while_down and recovered and not figures.requests_failed)
    figures.notes = {"ready_while_store_down": ready_while_down, "new_version_after": recovered}
    return figures


def prediction_log_store_outage(models: SoakModels, workdir: Path, store, outage: str) -> Figures:
    """Prediction logs go to a bucket whose server has an ``outage`` mid-load (see
    :func:`store_goes_away`): no request waits for it or fails, the files are kept and
    retried, and once it answers again every answered request's record is stored
    (SIGTERM flushes the last file)."""
    base = workdir / "predlog-models"
    publish_version(models.exports["A"], str(base), MODEL)
    log_uri = f"{store.scheme}://{store.new_bucket('predlog')}/logs"
    figures = Figures(f"prediction log {store.scheme}:// store {outage}", faults_injected=1)
    predictor = _predictor(
        base / MODEL, workdir, f"--prediction-log-uri={log_uri}",
        "--prediction-log-inputs=hash", "--prediction-log-flush-interval=1s",
    )  # fmt: skip
    predictor.wait_ready()
    figures.rss_start_mb = rss_mb(predictor.process.pid)
    with SteadyLoad(predictor.url, PREDICT, models.body) as load:
        time.sleep(1.5)
        store.emulator.stop()
        time.sleep(3)
        store.emulator.start()
        time.sleep(1.5)
    figures.rss_end_mb = rss_mb(predictor.process.pid)
    exit_code = predictor.stop()
    logs = open_store(log_uri)
    stored = sum(
        len(gzip.decompress(logs.read_bytes(name)).splitlines()) for name in logs.list_files()
    )
    answered = sum(1 for a in load.result.answers if a.status == 200)
    figures.requests_sent = load.result.sent
    figures.requests_failed = count_wrong(load.result.answers, models)
    figures.faults_survived = int(
        exit_code == 0 and stored == answered and not figures.requests_failed
    )
    figures.notes = {
        "records_stored": stored,
        "requests_answered": answered,
        "exit_code": exit_code,
    }
    return figures


def sigterm_mid_load(models: SoakModels, workdir: Path, grace_s: float = 10) -> Figures:
    """SIGTERM under load: what was sent before it completes; exit 0 (time to exit reported)."""
    base = workdir / "sigterm"
    publish_version(models.exports["A"], str(base), MODEL)
    figures = Figures("SIGTERM mid-load", faults_injected=1)
    predictor = _predictor(base / MODEL, workdir, f"--shutdown-timeout={grace_s:.0f}s")
    predictor.wait_ready()
    figures.rss_start_mb = rss_mb(predictor.process.pid)
    with SteadyLoad(predictor.url, PREDICT, models.body, threads=8) as load:
        time.sleep(2)
        figures.rss_end_mb = rss_mb(predictor.process.pid)
        sent_at = time.monotonic()
        predictor.process.send_signal(signal.SIGTERM)
        exit_code = predictor.process.wait(timeout=grace_s + 60)
        exited_after = time.monotonic() - sent_at
    # A request written on an idle keep-alive connection in the last instant before
    # SIGTERM may not have been read when the server closes idle connections: it was
    # never accepted (the client sees the connection close and retries). Requests sent
    # earlier than RACE_S before the signal must all have been answered correctly.
    before = [a for a in load.result.answers if a.started < sent_at - RACE_S]
    racing = [a for a in load.result.answers if sent_at - RACE_S <= a.started < sent_at]
    after = [a for a in load.result.answers if a.started >= sent_at]
    figures.requests_sent = len(before)
    figures.requests_failed = count_wrong(before, models) + sum(
        1 for a in racing if a.status not in (0, 200)
    )
    # Exiting within the grace period is a figure for the report, not a pass/fail bound
    # (a slow machine would trip it); the wait above only stops a predictor that hangs.
    figures.faults_survived = int(exit_code == 0 and not figures.requests_failed)
    after_statuses = dict(Counter(str(a.status) for a in after))
    figures.notes = {
        "exit_code": exit_code,
        "exit_s": round(exited_after, 2),
        "exited_within_grace": exited_after <= grace_s,
        "sent_in_last_20ms_before_sigterm": len(racing),
        "of_those_answered_200": sum(1 for a in racing if a.status == 200),
        "sent_after_sigterm": len(after),
        "after_sigterm_statuses": after_statuses,
    }
    return figures


def overload(models: SoakModels, workdir: Path, seconds: float, clients: int = 64) -> Figures:
    """Far more clients than the queue holds: excess shed with 429/503 + Retry-After."""
    base = workdir / "overload"
    publish_version(models.exports["A"], str(base), MODEL)
    figures = Figures("overload", faults_injected=1)
    args = ("--batching", "--max-batch-size=8", "--max-queued=8", "--batch-timeout=2ms")
    with _predictor(base / MODEL, workdir, *args) as predictor:
        figures.rss_start_mb = rss_mb(predictor.process.pid)
        peak = [figures.rss_start_mb]
        with SteadyLoad(predictor.url, PREDICT, models.body, threads=clients) as load:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                peak.append(rss_mb(predictor.process.pid))
                time.sleep(0.2)
        figures.rss_end_mb = max(peak)
    answers = load.result.answers
    shed = [a for a in answers if a.status in (429, 503)]
    wrong = [a for a in answers if a.status == 200 and models.which(a.body) != "A"]
    other = [a for a in answers if a.status not in (200, 429, 503)]
    figures.requests_sent = len(answers)
    figures.requests_failed = len(wrong) + len(other) + sum(1 for a in shed if not a.retry_after)
    figures.faults_survived = int(not figures.requests_failed)
    figures.notes = {"accepted": len(answers) - len(shed) - len(other), "shed": len(shed),
                     "p99_accepted_ms": round(load.result.p99_ms(), 1),
                     "rss_peak_mb": round(max(peak), 1)}  # fmt: skip
    return figures


def hostile_inputs(models: SoakModels, workdir: Path, mutations: int) -> Figures:
    """The catalogue of malformed requests must each get a 4xx; random mutations of a valid
    one a 4xx, or a 200 with exactly model A's answer when the mutation left it valid."""
    base = workdir / "hostile"
    publish_version(models.exports["A"], str(base), MODEL)
    figures = Figures("hostile inputs")
    catalogue, mutants = malformed_requests(models.body), mutated(models.body, mutations)
    statuses: dict[int, int] = {}
    failed = still_valid = 0
    with _predictor(base / MODEL, workdir) as predictor:
        figures.rss_start_mb = rss_mb(predictor.process.pid)
        host = predictor.url.removeprefix("http://")
        conn = http.client.HTTPConnection(host, timeout=30)
        for kind, (path, body) in [("catalogue", c) for c in catalogue] + [
            ("mutant", m) for m in mutants
        ]:
            answer, conn = send(conn, host, path, body)
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            if 400 <= answer.status < 500:
                figures.bad_inputs_4xx += 1
            elif kind == "mutant" and answer.status == 200 and models.which(answer.body) == "A":
                still_valid += 1
            else:
                failed += 1
        alive = predictor.process.poll() is None and _ready(predictor.url)
        figures.rss_end_mb = rss_mb(predictor.process.pid)
    figures.bad_inputs_tried = len(catalogue) + len(mutants)
    figures.requests_sent = figures.bad_inputs_tried
    figures.requests_failed = failed
    figures.notes = {"statuses": {str(k): v for k, v in sorted(statuses.items())},
                     "catalogue": len(catalogue), "mutations_still_valid": still_valid,
                     "server_alive": alive}  # fmt: skip
    return figures


def hostile_grpc_inputs(models: SoakModels, workdir: Path, mutations: int) -> Figures:
    """The gRPC catalogue of bad requests (``bench/loadgen/grpchostile``: bytes that are no
    message or are cut short, wrong dtypes, shapes against contents, BYTES that are no
    image or claim too many pixels, oversize messages, unknown model, version, input,
    output and method) must each get a client-error code; ``mutations`` seeded mutations of
    a valid PredictRequest's and of a ModelInferRequest's wire bytes a client error, or OK
    with exactly model A's answer. Then a valid request of each API must still be answered.
    """
    base = workdir / "hostile-grpc"
    publish_version(models.exports["A"], str(base), MODEL)
    figures = Figures("hostile gRPC inputs")
    tool = build_grpchostile(workdir)
    image = workdir / "hostile-grpc-probe.png"
    image.write_bytes(base64.b64decode(json.loads(models.body)["instances"][0]["b64"]))
    with _predictor(base / MODEL, workdir) as predictor:
        figures.rss_start_mb = rss_mb(predictor.process.pid)
        argv = [str(tool), "-addr", f"127.0.0.1:{predictor.grpc_port}", "-model", MODEL]
        argv += ["-image", str(image), "-mutations", str(mutations)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"grpchostile failed: {done.stderr[-2000:]}")
        report = json.loads(done.stdout)
        alive = predictor.process.poll() is None and _ready(predictor.url)
        figures.rss_end_mb = rss_mb(predictor.process.pid)
    codes: Counter = Counter()
    wrong, still_valid = [], 0
    for a in report["answers"]:
        codes[a["code"]] += 1
        if a["code"] in GRPC_CLIENT_ERRORS:
            figures.bad_inputs_4xx += 1
        elif a["kind"] == "mutant" and a["code"] == "OK" and _is_a(models, a):
            still_valid += 1
        else:
            wrong.append(a)
    valid_after = [a for a in report["valid_after"] if a["code"] == "OK" and _is_a(models, a)]
    figures.bad_inputs_tried = len(report["answers"])
    figures.requests_sent = figures.bad_inputs_tried + len(report["valid_after"])
    figures.requests_failed = len(wrong) + len(report["valid_after"]) - len(valid_after)
    catalogue = sum(1 for a in report["answers"] if a["kind"] == "catalogue")
    figures.notes = {"codes": dict(sorted(codes.items())), "catalogue": catalogue,
                     "mutations_still_valid": still_valid,
                     "valid_after_answered": len(valid_after), "server_alive": alive,
                     "wrong": [{k: a[k] for k in ("api", "name", "code", "message")}
                               for a in wrong[:10]]}  # fmt: skip
    return figures


def _is_a(models: SoakModels, answer: dict) -> bool:
    """Whether a grpchostile OK answer is exactly model A's prediction."""
    return models.which_probabilities(answer.get("probabilities")) == "A"


def build_grpchostile(workdir: Path) -> Path:
    """``go build`` bench/loadgen/grpchostile into ``workdir``."""
    out = workdir / "grpchostile"
    env = {**os.environ, "GOWORK": "off"}
    argv = ["go", "build", "-trimpath", "-o", str(out), "./grpchostile"]
    subprocess.run(argv, cwd=LOADGEN, env=env, check=True)
    return out


def malformed_requests(valid: bytes) -> list[tuple[str, bytes]]:
    """The predictor's catalogue of bad requests (each must be a 4xx)."""
    b64 = json.loads(valid)["instances"][0]["b64"]
    png_head = "iVBORw0KGgoAAAANSUhEUgAAA"  # a PNG header and nothing else
    return [
        (PREDICT, b"{not json"),
        (PREDICT, b""),
        (PREDICT, b"[]"),
        (PREDICT, json.dumps({"instances": []}).encode()),
        (PREDICT, json.dumps({"instance": [{"b64": b64}]}).encode()),
        (PREDICT, json.dumps({"instances": [{"b64": "!!!"}]}).encode()),
        (PREDICT, json.dumps({"instances": [{"b64": png_head}]}).encode()),
        (PREDICT, json.dumps({"instances": [{"b64": b64[: len(b64) // 2]}]}).encode()),
        (PREDICT, json.dumps({"instances": [[1.0, 2.0]]}).encode()),
        (PREDICT, json.dumps({"instances": [{"b64": b64}], "signature_name": "nope"}).encode()),
        (PREDICT, json.dumps({"instances": [{"b64": b64}], "inputs": {}}).encode()),
        ("/v1/models/nope:predict", valid),
        (f"/v1/models/{MODEL}/versions/99:predict", valid),
        (f"/v1/models/{MODEL}:explode", valid),
        # The web page and the endpoints it reads: POST is refused, bad index bodies are 4xx,
        # and :classify-image takes images, not this JSON.
        ("/", valid),
        ("/ui/", valid),
        (f"/ui/models/{MODEL}", valid),
        ("/ui/assets/app.js", valid),
        (f"/v1/models/{MODEL}/card", valid),
        ("/v2/repository/index", b"{not json"),
        ("/v2/repository/index", b'{"ready": "yes"}'),
        ("/v2/repository/index", b" " * 8192),
        (f"/v1/models/{MODEL}:classify-image", valid),
        (PREDICT, b'{"instances": [' + b"[" * 10000 + b"]" * 10000 + b"]}"),
        (PREDICT, b'{"instances": ["' + b"A" * (20 << 20) + b'"]}'),
    ]


def mutated(valid: bytes, count: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """Random byte flips, cuts and insertions of a valid request (seeded)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(body))
            action = rng.choice(("flip", "cut", "insert"))
            if action == "flip":
                body[i] = rng.randrange(256)
            elif action == "cut":
                del body[i : i + rng.randint(1, 64)]
            else:
                body[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        out.append((PREDICT, bytes(body)))
    return out


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False
