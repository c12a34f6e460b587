"""The container engine on this machine, for the pipeline's container runs and the predictor.

``scripts/images/engine.sh`` decides which engine can run (podman or docker, the
same choice ``make images`` makes) and carries podman's project settings;
:func:`docker_api` gives kfp.local's ``DockerRunner`` (docker-py) a Docker API
to talk to: docker's own, or podman's Docker-compatible service on a socket of
its own for as long as the run lasts.
"""

import contextlib
import functools
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from components.errors import StepError

ROOT = Path(__file__).resolve().parent.parent
ENGINE_SCRIPT = ROOT / "scripts" / "images" / "engine.sh"
CONTAINERS_CONF = ROOT / "scripts" / "images" / "containers.conf"


class EngineError(StepError):
    """No container engine can run here, an image is missing, or the engine failed."""


@functools.cache
def engine() -> str:
    """``podman`` or ``docker``: the engine ``make images`` uses here (decided once: the
    script asks the engine itself, which costs half a second)."""
    proc = subprocess.run(["bash", str(ENGINE_SCRIPT)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise EngineError(proc.stderr.strip() or f"{ENGINE_SCRIPT} failed")
    return proc.stdout.strip()


def engine_env() -> dict[str, str]:
    """The environment for running the engine's CLI (podman's project settings)."""
    return {
        **os.environ,
        "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF)),
    }


def cli(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``<engine> args...``; raise :class:`EngineError` with its stderr on failure."""
    proc = subprocess.run(
        [engine(), *args], capture_output=True, text=True, env=engine_env(), timeout=timeout
    )
    if check and proc.returncode != 0:
        raise EngineError(f"{engine()} {' '.join(args[:2])}: {proc.stderr.strip()}")
    return proc


def require_image(image: str) -> None:
    """Raise :class:`EngineError` naming ``make images`` unless ``image`` is built here."""
    if cli("image", "inspect", "--format", "{{.Id}}", image, check=False).returncode != 0:
        raise EngineError(f"image {image} is not built here: run `make images`")


@contextlib.contextmanager
def docker_api() -> Iterator[None]:
    """Point docker-py (``DOCKER_HOST``) at a running Docker API for the block.

    docker: its own socket, unchanged. podman: ``podman system service`` on a
    private socket, stopped again when the block ends.
    """
    if engine() == "docker" or os.environ.get("DOCKER_HOST"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="imgclf-podman-") as tmp:
        socket = Path(tmp) / "podman.sock"
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"],
            env=engine_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_for_socket(socket, service)
            previous = os.environ.get("DOCKER_HOST")
            os.environ["DOCKER_HOST"] = f"unix://{socket}"
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop("DOCKER_HOST", None)
                else:
                    os.environ["DOCKER_HOST"] = previous
        finally:
            service.terminate()
            try:
                service.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()


def _wait_for_socket(socket: Path, service: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not socket.exists():
        if service.poll() is not None:
            err = service.stderr.read().decode() if service.stderr else ""
            raise EngineError(f"podman system service exited with {service.returncode}: {err}")
        if time.monotonic() > deadline:
            service.kill()
            raise EngineError(f"podman system service: no socket at {socket} after {timeout}s")
        time.sleep(0.1)
