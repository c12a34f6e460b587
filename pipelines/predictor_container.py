"""Run the predictor image the way the Kubernetes base runs its pods, on loopback.

Non-root (65532), read-only root filesystem (a tmpfs at /tmp), every capability
dropped, no privilege escalation, a CPU limit (default 1), and the model
directory mounted read-only; the HTTP port is published on 127.0.0.1 only.
"""

import subprocess
from pathlib import Path

from pipelines import container_engine
from pipelines.predictor_process import PredictorClient, PredictorError, free_port

PREDICTOR_IMAGE = "ghcr.io/imgclf/predictor:0.1.0"
"""What ``make images`` tags, and the name the k8s base runs."""
MODEL_MOUNT = "/models"


class ContainerPredictor(PredictorClient):
    """The predictor image serving ``model_base_path`` (a host directory) as ``model_name``.

    Use as a context manager: the container gets SIGTERM on exit and is removed.
    """

    def __init__(
        self,
        model_base_path: str | Path,
        model_name: str,
        *,
        image: str = PREDICTOR_IMAGE,
        cpus: str = "1",
        run_args: tuple[str, ...] = (),
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
    ):
        self.port = free_port(port)
        super().__init__(f"http://127.0.0.1:{self.port}", model_name)
        self.name = f"imgclf-predictor-{self.port}"
        self._exit: int | None = None
        self._log = ""
        mount = f"{Path(model_base_path).resolve()}:{MODEL_MOUNT}/{model_name}:ro"
        container_engine.require_image(image)
        container_engine.cli(
            "run", "--detach", "--pull=never", f"--name={self.name}",
            "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges",
            "--user=65532:65532", f"--cpus={cpus}",
            f"--volume={mount}", f"--publish=127.0.0.1:{self.port}:8501",
            *run_args, image,
            f"--model-base-path={MODEL_MOUNT}/{model_name}", f"--model-name={model_name}",
            *extra_args,
        )  # fmt: skip

    def __enter__(self) -> "ContainerPredictor":
        try:
            self.wait_ready()
        except PredictorError:
            self.stop()
            raise
        return self

    def exit_code(self) -> int | None:
        if self._exit is not None:
            return self._exit
        state = container_engine.cli(
            "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", self.name
        ).stdout.split()
        return int(state[1]) if state and state[0] in ("exited", "stopped") else None

    def stop(self) -> int:
        """SIGTERM, wait for the exit (draining), keep the log, remove the container."""
        if self._exit is None:
            container_engine.cli("kill", "--signal=TERM", self.name, check=False)
            waited = container_engine.cli("wait", self.name, check=False, timeout=60)
            self._log = self._read_log()
            container_engine.cli("rm", "--force", self.name, check=False)
            self._exit = int(waited.stdout.strip() or -1)
        return self._exit

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` inside the running container (a program mounted into it)."""
        return container_engine.cli("exec", self.name, *command, check=False)

    def log(self) -> str:
        return self.full_log()[-2000:]

    def full_log(self) -> str:
        """Everything it wrote, stdout and stderr."""
        return self._log if self._exit is not None else self._read_log()

    def _read_log(self) -> str:
        proc = container_engine.cli("logs", self.name, check=False)
        return proc.stdout + proc.stderr
