"""Start the Go predictor as a local process and talk to it over HTTP (TF Serving REST).

Used by the demo and the tests: the embedded default runs the predictor as a
plain process on loopback instead of a Kubernetes Deployment.
:class:`PredictorClient` is the HTTP side, shared with the predictor container
(pipelines/predictor_container.py).
"""

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_BINARY = Path(__file__).resolve().parent.parent / "build" / "predictor"


class PredictorError(RuntimeError):
    """The predictor did not start, or answered with an error."""

    def __init__(self, message: str, status: int = 0, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}


class PredictorClient:
    """A predictor being started or running, at ``url``: TF Serving REST over HTTP.

    Subclasses start it (a process, a container), say whether it has exited
    and how it stopped, and hand back its log.
    """

    def __init__(self, url: str, model_name: str):
        self.url = url
        self.model_name = model_name

    def __enter__(self) -> "PredictorClient":
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def exit_code(self) -> int | None:
        """The exit code once it has exited, else None."""
        raise NotImplementedError

    def stop(self) -> int:
        """Stop it gracefully (SIGTERM) and return its exit code."""
        raise NotImplementedError

    def log(self) -> str:
        """Its output so far (last 2000 characters)."""
        raise NotImplementedError

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until ``/v2/health/ready`` answers 200, or raise with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                raise PredictorError(f"predictor exited with {code}: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/health/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        self.stop()
        raise PredictorError(f"predictor not ready after {timeout}s: {self.log()}")

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
        """Send one HTTP request; return (status, decoded JSON body) for any status."""
        req = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def predict(self, images: list[bytes]) -> list[dict]:
        """Predict encoded images with ``:predict`` (row format, ``{"b64": ...}`` instances)."""
        instances = [{"b64": base64.b64encode(image).decode()} for image in images]
        body = json.dumps({"instances": instances}).encode()
        status, reply = self.request("POST", f"/v1/models/{self.model_name}:predict", body)
        if status != 200:
            raise PredictorError(f"predict: HTTP {status}: {reply.get('error')}", status, reply)
        return reply["predictions"]


class LocalPredictor(PredictorClient):
    """A predictor process serving one model directory, on loopback.

    Use as a context manager: the process is stopped (SIGTERM) on exit.
    """

    def __init__(
        self,
        model_base_path: str | Path,
        model_name: str,
        *,
        binary: str | Path = DEFAULT_BINARY,
        log_path: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
        grpc_port: int | None = None,
    ):
        self.port = free_port(port)
        # A port of its own for gRPC too: the default (:8500) would clash between predictors.
        self.grpc_port = free_port(grpc_port)
        super().__init__(f"http://127.0.0.1:{self.port}", model_name)
        self.log_path = Path(log_path or f"/tmp/predictor-{self.port}.log")
        if not Path(binary).is_file():
            raise PredictorError(f"predictor binary not found: {binary} (run `make build`)")
        args = [
            str(binary),
            f"--listen-addr=127.0.0.1:{self.port}",
            f"--grpc-listen-addr=127.0.0.1:{self.grpc_port}",
            f"--model-base-path={model_base_path}",
            f"--model-name={model_name}",
            *extra_args,
        ]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)

    def __enter__(self) -> "LocalPredictor":
        self.wait_ready()
        return self

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text()[-2000:] if self.log_path.exists() else ""


def free_port(preferred: int | None = None) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now: ``preferred`` if it is free."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise AssertionError("unreachable: port 0 always binds")
