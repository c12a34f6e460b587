"""What a running cluster holds on this machine, kept in ``state.json`` as it is acquired.

``up`` records each process and route the moment it exists, so ``down`` (or a failed
``up`` cleaning after itself) undoes exactly what was done, even after a crash between
steps. Nothing else is trusted to know what to remove.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class State:
    """Processes (name -> pid) and routes (``ip route`` arguments) this cluster added."""

    processes: dict[str, int] = field(default_factory=dict)
    routes: list[str] = field(default_factory=list)
    bridge: str = ""
    netns_before: list[str] = field(default_factory=list)  # /run/netns entries before up

    @classmethod
    def load(cls, path: Path) -> State:
        if not path.exists():
            return cls()
        return cls(**json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)


def start_process(
    name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``args`` in a session of its own (it outlives ``make cluster-up``), logging to
    ``<log_dir>/<name>.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours (started by this Python process) counts as gone.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop_process(pid: int, grace_s: float = 20) -> None:
    """SIGTERM the process's session, then SIGKILL what is left after ``grace_s``."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def log_tail(log_dir: Path, name: str, lines: int = 15) -> str:
    path = log_dir / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
