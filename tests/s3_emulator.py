"""moto in server mode on loopback: a real S3-compatible server for the s3:// code paths."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from pipelines.predictor_process import free_port

SERVER = Path(__file__).resolve().parent / "s3_server.py"

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
"""What the clients sign with; moto accepts any key unless it checks them (``check_keys``)."""

_VARIABLES = (
    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED",
)  # fmt: skip


class S3Emulator:
    """A running moto server; points the ``AWS_*`` variables at it.

    The endpoint is ``http://localhost:<port>``: a client that did not use path-style
    addressing would ask for ``<bucket>.localhost``, which does not resolve here. The
    machine's own AWS config and credentials files are hidden from the clients.

    Args:
        check_keys: make moto authenticate requests; it knows no access key, so every
            request is refused with InvalidAccessKeyId, as S3 refuses a wrong key.
    """

    def __init__(self, check_keys: bool = False) -> None:
        self.port = free_port()
        self.endpoint = f"http://localhost:{self.port}"
        env = dict(os.environ)
        if check_keys:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        self._previous = {name: os.environ.get(name) for name in _VARIABLES}
        for name in _VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(self.environment())
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, config=Config(s3={"addressing_style": "path"})
        )

    def environment(self) -> dict[str, str]:
        """The variables a process needs to reach this server (also set in ``os.environ``)."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **CREDENTIALS,
        }

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(f"moto server did not start on {self.endpoint}")

    def create_bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        """Freeze the server: connections are still accepted, nothing is answered (a
        store that hangs, the harder outage; moto keeps its objects only in memory, so
        it is paused rather than stopped). :meth:`start` resumes it."""
        self.process.send_signal(signal.SIGSTOP)

    def start(self) -> None:
        """Resume a server frozen by :meth:`stop`; what was asked meanwhile is answered."""
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and put the ``AWS_*`` variables back as they were."""
        self.start()
        self.process.terminate()
        self.process.wait(timeout=10)
        for name, value in self._previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
