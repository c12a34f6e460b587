"""``bench/run.py --containers`` on a tiny configuration: the predictor image and one Python
peer from the bench peers image (``make bench-images``, which ``make test`` builds), each
under a 1-CPU CFS quota, on the small model at one concurrency for 2 s; and, where no
container engine can run, the one-line error or (make bench's second run) the skip."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import container_engine
from pipelines.predictor_container import PREDICTOR_IMAGE

ROOT = Path(__file__).resolve().parent.parent
PEERS_IMAGE = PREDICTOR_IMAGE.replace("/predictor:", "/bench-peers:")  # bench/containers.py
QUOTA = {"inspect_quota_us": 100000, "inspect_period_us": 100000, "cgroup_quota_us": 100000,
         "cgroup_period_us": 100000, "cpu_limit": 1.0}  # fmt: skip


@pytest.fixture(scope="session")
def bench_peers_image(predictor_image) -> str:
    """The bench peers image from ``make bench-images`` (an engine runs: predictor_image)."""
    found = container_engine.cli("image", "inspect", PEERS_IMAGE, check=False)
    if found.returncode != 0:
        reason = f"image {PEERS_IMAGE} is not built here: run `make bench-images`"
        if os.environ.get("IMAGES_REQUIRED") == "1":
            pytest.fail(f"{reason} (IMAGES_REQUIRED=1: make test builds it first)")
        pytest.skip(reason)
    return PEERS_IMAGE


def test_container_mode_reports_ready_time_image_size_and_the_quota(
    tmp_path, predictor_binary, predictor_image, bench_peers_image
):
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--containers"]
    argv += ["--models", "small", "--servers", "go-predictor,flask", "--levels", "2"]
    argv += ["--repeat", "1", "--duration", "2", "--warmup", "0.3", "--no-inprocess"]
    argv += ["--no-paired"]
    argv += ["--no-sweep", "--out", str(tmp_path), "--predictor", str(predictor_binary)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (result_file,) = tmp_path.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["mode"] == "containers"
    served = {(r["model"], r["server"]) for r in result["runs"]}
    assert served == {("small", "go-predictor"), ("small", "flask"),
                      ("no-model", "go-predictor"), ("no-model", "flask")}  # fmt: skip
    for run in result["runs"]:
        assert run["mode"] == "containers"
        assert run["errors"] == 0 and run["rps"] > 0, run
        assert 0 <= run["throttled_share"] <= 1 and run["peak_mem_mib"] > 0, run

    entries = {c["server"]: c for c in result["containers"]}
    assert set(entries) == {"go-predictor", "flask"}
    assert entries["go-predictor"]["image"] == predictor_image
    assert entries["flask"]["image"] == bench_peers_image
    for entry in entries.values():
        # --cpus=1 as the engine set it and as the container's own cgroup holds it.
        assert {k: entry["cpu_quota"][k] for k in QUOTA} == QUOTA, entry
        assert entry["ready_s"] > 0 and entry["image_mb"] > 0, entry
        assert entry["peak_mem_mib"] > 0 and entry["peak_rss_mib"] > 0, entry
    (ratio,) = result["container_ratios"]
    assert ratio["peer"] == "flask" and ratio["ready_ratio"] > 0 and ratio["image_size_ratio"] > 0

    table = result_file.with_suffix(".md").read_text()
    assert "## make bench --containers," in table
    assert "In containers (1 CPU quota)" in table
    assert "| model | server | image | image MB | ready s |" in table
    assert (
        f"| small | flask | `{bench_peers_image}` (one image for flask, fastapi, kserve) |" in table
    )
    assert "| model | peer | time to ready | image size |" in table
    assert "| small | flask |" in table.split("| model | peer | time to ready |")[1]
    # Nothing is left behind: each container was removed once it had stopped.
    for entry in entries.values():
        assert entry["container"].startswith(f"imgclf-bench-{entry['server']}-")
        gone = container_engine.cli("container", "exists", entry["container"], check=False)
        assert gone.returncode == 1, entry["container"]


def _without_an_engine(tmp_path, mode: str) -> subprocess.CompletedProcess:
    """bench/run.py ``mode`` with a PATH that has the tools engine.sh needs, and no podman
    or docker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        found = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True)
        (bin_dir / tool).symlink_to(found.stdout.strip())
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("IMAGE_ENGINE", None)
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), mode, "--out", str(tmp_path)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_make_bench_second_run_is_skipped_with_its_reason_where_no_engine_runs(tmp_path):
    done = _without_an_engine(tmp_path, "--containers-if-built")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("bench: container mode skipped: --containers needs a container")
    assert not list(tmp_path.glob("*.json"))


def test_container_mode_without_an_engine_says_what_is_missing(tmp_path):
    done = _without_an_engine(tmp_path, "--containers")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("bench: --containers needs a container engine:"), lines[0]
    assert "install podman" in lines[0], lines[0]
    assert not list(tmp_path.glob("*.json"))
