"""Process-tree CPU time and peak RSS from /proc, and the machine and versions a run records.

A server is measured with its children (gunicorn's master and workers), so
the numbers are what the deployment would pay.
"""

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the tree under ``pid`` (threads included)."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` such as ``VmRSS`` (0 if the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def peak_rss_mib(pid: int) -> int:
    """Sum over the tree of each process's peak resident set (VmHWM), in MiB."""
    return sum(status_kib(p, "VmHWM") for p in tree(pid)) // 1024


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def cpu_list(spec: str) -> list[int]:
    """Expand a taskset list such as ``0``, ``0,2`` or ``0-3``."""
    cpus = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cpus += range(int(lo), int(hi or lo) + 1)
    return cpus


def machine(server_cpus: str, loadgen_cpus: str) -> dict:
    """CPU model, cores and how they were split."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "server_cpus": server_cpus,
        "loadgen_cpus": loadgen_cpus,
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
    }


def versions(predictor: Path, kserve_python: Path | None = None) -> dict:
    """Versions of everything measured: Python packages, Go, the predictor's commit.

    ``kserve_python`` is the interpreter of KServe's venv, asked for its kserve version.
    """
    out = {"python": platform.python_version()}
    for pkg in ("tensorflow-cpu", "keras", "flask", "gunicorn", "fastapi", "uvicorn", "uvloop"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    if kserve_python is not None:
        ask = "from importlib.metadata import version; print(version('kserve'))"
        out["kserve"] = _run([str(kserve_python), "-c", ask]) or None
    out["go"] = _run(["go", "env", "GOVERSION"])
    root = Path(__file__).resolve().parent.parent
    commit = _run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(root), "status", "--porcelain", "serving"])
    out["commit"] = commit + ("+dirty serving/" if dirty else "")
    out["predictor_binary_mib"] = round(predictor.stat().st_size / 2**20, 1)
    out["executable"] = sys.executable
    return out


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
