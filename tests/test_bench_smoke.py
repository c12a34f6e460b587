"""``make bench`` on a tiny configuration: every server answers, every report has its fields."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_FIELDS = {
    "model", "server", "concurrency", "rps", "p50_ms", "p90_ms", "p99_ms", "errors",
    "peak_rss_mib", "cpu_s_per_1k", "ready_s", "loadgen_cpu_util",
}  # fmt: skip


def test_bench_harness_writes_json_table_and_plot(tmp_path, predictor_binary):
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--models", "small"]
    argv += ["--levels", "2", "--repeat", "1", "--duration", "1", "--warmup", "0.3"]
    argv += ["--inprocess-seconds", "0.3"]
    argv += ["--servers", "go-predictor,flask,fastapi,go-nethttp", "--out", str(tmp_path)]
    argv += ["--predictor", str(predictor_binary)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (result_file,) = tmp_path.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["machine"]["cpu"] and result["machine"]["cores"] >= 1
    assert result["versions"]["tensorflow-cpu"] and result["versions"]["go"]
    served = {(r["model"], r["server"]) for r in result["runs"]}
    assert served == {
        ("small", "go-predictor"), ("small", "flask"), ("small", "fastapi"),
        ("no-model", "go-predictor"), ("no-model", "flask"), ("no-model", "fastapi"),
        ("no-model", "go-nethttp"),
    }  # fmt: skip
    for run in result["runs"]:
        assert RUN_FIELDS <= run.keys()
        assert run["errors"] == 0 and run["rps"] > 0, run
        assert 0 < run["p50_ms"] <= run["p90_ms"] <= run["p99_ms"]
    assert {(x["runner"], x["batch"]) for x in result["inprocess"]} == {
        ("python", 1), ("python", 32), ("go", 1), ("go", 32),
    }  # fmt: skip
    goals = {g["goal"]: g for g in result["goals"]}
    assert goals["small c=2: go-predictor req/s / flask"]["measured"] > 0
    assert "no-model best level: go-nethttp req/s / flask" in goals

    table = result_file.with_suffix(".md").read_text()
    assert "| model | server | c | req/s | p50 ms | p90 ms | p99 ms | errors |" in table
    assert "| small | go-predictor | 2 |" in table
    assert result_file.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| model | server |" in done.stdout  # the table is printed
