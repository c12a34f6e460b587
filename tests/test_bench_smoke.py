"""``make bench`` on a tiny configuration: every server answers, every report has its fields.

KServe's ModelServer runs from build/kserve-venv (``make kserve-venv``, which ``make
test`` builds first); the open-loop sweep runs two short rates per model server.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_FIELDS = {
    "model", "server", "concurrency", "rps", "p50_ms", "p90_ms", "p99_ms", "errors",
    "peak_rss_mib", "cpu_s_per_1k", "ready_s", "loadgen_cpu_util",
}  # fmt: skip
SWEEP_FIELDS = {
    "model", "server", "offered_rps", "achieved_rps", "scheduled", "sent", "ok", "errors",
    "dropped", "p50_ms", "p99_ms", "target_p99_ms", "held",
}  # fmt: skip
GRPC_SERVERS = {"go-predictor-grpc", "go-predictor-grpc-v2"}
MODEL_SERVERS = {"go-predictor", "go-predictor-v2", "flask", "fastapi", "kserve", *GRPC_SERVERS}
KSERVE_PYTHON = ROOT / "build" / "kserve-venv" / "bin" / "python"


def test_bench_harness_writes_json_table_and_plot(tmp_path, predictor_binary):
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--models", "small"]
    argv += ["--levels", "2", "--repeat", "1", "--duration", "1", "--warmup", "0.3"]
    argv += ["--inprocess-seconds", "0.3"]
    # Two open-loop rates per server: 0.4 and 1.3 times its closed-loop req/s.
    argv += ["--sweep-from", "0.4", "--sweep-step", "4", "--sweep-seconds", "1"]
    argv += ["--sweep-warmup", "0.3", "--out", str(tmp_path)]
    argv += ["--paired-rounds", "3", "--paired-seconds", "1"]
    argv += ["--servers", ",".join(sorted(MODEL_SERVERS)) + ",go-nethttp"]
    argv += ["--predictor", str(predictor_binary)]
    if not KSERVE_PYTHON.exists():
        pytest.fail(f"{KSERVE_PYTHON} missing: run `make kserve-venv` (make test does)")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=420, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (result_file,) = tmp_path.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["machine"]["cpu"] and result["machine"]["cores"] >= 1
    assert result["versions"]["tensorflow-cpu"] and result["versions"]["go"]
    assert result["versions"]["kserve"]
    served = {(r["model"], r["server"]) for r in result["runs"]}
    assert served == {("small", s) for s in MODEL_SERVERS} | {
        ("no-model", "go-predictor"), ("no-model", "flask"), ("no-model", "fastapi"),
        ("no-model", "kserve"), ("no-model", "go-nethttp"),
    }  # fmt: skip
    for run in result["runs"]:
        assert RUN_FIELDS <= run.keys()
        assert run["errors"] == 0 and run["rps"] > 0, run
        assert 0 < run["p50_ms"] <= run["p90_ms"] <= run["p99_ms"]
        assert run["ready_s"] > 0, run  # process start to /v2/health/ready 200

    # The sweep: every model server, its first rate 0.4 x its closed-loop best, then
    # 1.3 x unless the first already missed the target.
    best = {r["server"]: r["rps"] for r in result["runs"] if r["model"] == "small"}
    for server in MODEL_SERVERS:
        rows = [r for r in result["sweeps"] if r["server"] == server]
        want = [round(best[server] * f, 1) for f in (0.4, 1.3)]
        assert [r["offered_rps"] for r in rows] == want[: len(rows)], rows
        assert rows and (len(rows) == 2 or not rows[0]["held"]), rows
        for r in rows:
            assert SWEEP_FIELDS <= r.keys() and r["model"] == "small"
            assert r["target_p99_ms"] == 50 and r["scheduled"] == r["sent"] + r["dropped"]
            assert r["held"] == (r["ok"] == r["scheduled"] and r["p99_ms"] <= 50), r
    held = {(x["model"], x["server"]) for x in result["sustained"]}
    assert held == {("small", s) for s in MODEL_SERVERS}
    assert {(x["runner"], x["batch"]) for x in result["inprocess"]} == {
        ("python", 1), ("python", 32), ("go", 1), ("go", 32),
    }  # fmt: skip
    # The predictor against its in-process limit, alternating windows on the same core:
    # each round's ratio is its own two figures', the row's is the ratio of their means.
    (pair,) = result["paired"]
    assert (pair["model"], pair["server"], pair["batch"]) == ("small", "go-predictor", 1)
    assert len(pair["rounds"]) == 3
    for r in pair["rounds"]:
        assert r["limit_images_per_s"] > 0 and r["server_rps"] > 0 and r["errors"] == 0, r
        assert r["ratio"] == pytest.approx(r["server_rps"] / r["limit_images_per_s"], abs=0.01)
    means = [sum(r[k] for r in pair["rounds"]) for k in ("server_rps", "limit_images_per_s")]
    assert pair["ratio"] == pytest.approx(means[0] / means[1], abs=0.01)
    # Go's profile of the middle round, beside the process's CPU seconds: TensorFlow's
    # threads are not sampled (they block SIGPROF), so most of the time is C code.
    prof = pair["profile"]
    assert prof["cpu_s"] >= prof["sampled_s"] > 0, prof
    assert prof["tensorflow_c"] + prof["go_gc"] + prof["go_other"] == pytest.approx(1, abs=0.01)
    assert prof["tensorflow_c"] > 0.5, prof
    goals = {g["goal"]: g for g in result["goals"]}
    goal = "small c=64: go-predictor req/s / in-process batch 1 limit (alternating windows)"
    assert goals[goal]["measured"] == pair["ratio"] and goals[goal]["target"] == "info"
    assert goals["small c=2: go-predictor req/s / flask"]["measured"] > 0
    assert "no-model best level: go-nethttp req/s / flask" in goals
    for what in ("req/s", "p99", "peak RSS", "time to ready"):  # like for like: both on v2
        assert goals[f"small c=2: go-predictor-v2 {what} / kserve"]["measured"] > 0
    for grpc, rest in (("go-predictor-grpc", "go-predictor"),
                       ("go-predictor-grpc-v2", "go-predictor-v2")):  # fmt: skip
        for what in ("req/s", "p99"):  # gRPC ÷ REST, the same request
            assert goals[f"small c=2: {grpc} ÷ {rest} {what}"]["measured"] > 0
    assert {(x["grpc"], x["concurrency"]) for x in result["grpc_vs_rest"]} == {
        (s, 2) for s in GRPC_SERVERS
    }
    for peer in ("flask", "fastapi"):
        assert f"small at p99 <= 50 ms: go-predictor req/s / {peer}" in goals
    assert "small at p99 <= 50 ms: go-predictor-v2 req/s / kserve" in goals

    table = result_file.with_suffix(".md").read_text()
    assert "| model | server | c | req/s | p50 ms | p90 ms | p99 ms | errors |" in table
    assert "| small | go-predictor | 2 |" in table
    assert "| small | kserve | 2 |" in table
    assert "| small | go-predictor-grpc | 2 |" in table
    assert "| model | c | gRPC row | REST row | gRPC req/s | REST req/s | req/s ÷ |" in table
    assert "| small | go-predictor | 1 | 64 | 3 × 1 |" in table
    assert "| model | server | offered req/s | achieved req/s |" in table
    assert "| model | server | p99 target ms | closed-loop best req/s | req/s held |" in table
    assert "small at p99 <= 50 ms: go-predictor req/s / flask" in table
    sweep_png = result_file.with_name(result_file.stem + "-sweep.png")
    for png in (result_file.with_suffix(".png"), sweep_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"]({sweep_png.name})" in table
    assert "| model | server |" in done.stdout  # the table is printed
