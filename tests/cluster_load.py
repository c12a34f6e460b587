"""A bounded load generator for the cluster tests: threads POST one v2 inference each, new
connection per request (so kube-proxy's current rules pick the pod), until stopped, or
``max_seconds`` or ``max_requests`` is reached, whichever comes first. It only ever sends
to the URL it is given: a ClusterIP, a pod or the Gateway of the test's own cluster.
"""

from __future__ import annotations

import base64
import collections
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    versions: collections.Counter = field(default_factory=collections.Counter)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return self.sent - self.ok


class Load:
    """``with Load(url, image) as load: ...``; ``load.result`` once the block ends."""

    def __init__(
        self,
        url: str,
        image: bytes,
        model: str = "lfw-faces",
        threads: int = 2,
        max_seconds: float = 300,
        max_requests: int = 200000,
        timeout_s: float = 30,
    ) -> None:
        # KServe v2 infer: its answers name the version that computed them.
        tensor = {"name": "image_bytes", "datatype": "BYTES", "shape": [1],
                  "data": [base64.b64encode(image).decode()]}  # fmt: skip
        self._body = json.dumps({"inputs": [tensor], "outputs": [{"name": "label"}]}).encode()
        self._url = f"{url.rstrip('/')}/v2/models/{model}/infer"
        self._threads_n, self._timeout = threads, timeout_s
        self._max_seconds, self._max_requests = max_seconds, max_requests
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.result = LoadResult()

    def __enter__(self) -> Load:
        self._start = time.monotonic()
        for _ in range(self._threads_n):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(self._timeout + 5)
        self.result.seconds = time.monotonic() - self._start
        return self.result

    def _run(self) -> None:
        deadline = self._start + self._max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.result.sent >= self._max_requests:
                    return
                self.result.sent += 1
            version, failure = self._one()
            with self._lock:
                if failure:
                    self.result.failures.append(failure)
                else:
                    self.result.ok += 1
                    self.result.versions[version] += 1

    def _one(self) -> tuple[str, str]:
        request = urllib.request.Request(self._url, data=self._body, method="POST")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                answer = json.loads(response.read())
                return str(answer.get("model_version", "?")), ""
        except urllib.error.HTTPError as err:
            return "", f"HTTP {err.code}: {err.read()[:200].decode(errors='replace')}"
        except (OSError, ValueError) as err:
            return "", f"{type(err).__name__}: {err}"
