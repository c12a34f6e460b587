"""fake-gcs-server on loopback: a real GCS emulator for the gs:// code paths."""

import os
import subprocess
import time
import urllib.request
from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from pipelines.predictor_process import free_port

BINARY = Path(__file__).resolve().parent.parent / "build" / "tools" / "bin" / "fake-gcs-server"


class GCSEmulator:
    """A running fake-gcs-server; sets ``STORAGE_EMULATOR_HOST``.

    In memory by default; with ``root`` its objects live in that directory, so a
    :meth:`stop` then :meth:`start` (same port) brings the same store back.
    """

    def __init__(self, root: Path | None = None) -> None:
        if not BINARY.is_file():
            raise RuntimeError(f"{BINARY} missing: run scripts/install_fake_gcs_server.sh")
        self.port = free_port()
        self.root = root
        self.host = f"http://127.0.0.1:{self.port}"
        self._previous_host = os.environ.get("STORAGE_EMULATOR_HOST")
        self.start()
        self.client = storage.Client(project="emulator", credentials=AnonymousCredentials())

    def start(self) -> None:
        backend = (
            ["-backend=filesystem", f"-filesystem-root={self.root}"]
            if self.root
            else ["-backend=memory"]
        )
        self.process = subprocess.Popen(
            [str(BINARY), *backend, "-scheme=http", "-host=127.0.0.1", f"-port={self.port}",
             f"-public-host=127.0.0.1:{self.port}", "-log-level=error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_ready()
        os.environ["STORAGE_EMULATOR_HOST"] = self.host

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.host}/storage/v1/b", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(f"fake-gcs-server did not start on {self.host}")

    def create_bucket(self, name: str) -> storage.Bucket:
        return self.client.create_bucket(name)

    def stop(self) -> None:
        """Stop the server (the store "goes away"); :meth:`start` brings it back."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def close(self) -> None:
        """Stop for good and point ``STORAGE_EMULATOR_HOST`` back where it was."""
        self.stop()
        if self._previous_host is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = self._previous_host
