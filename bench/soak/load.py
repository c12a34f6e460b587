"""A steady load of real predict requests from a few threads, every answer recorded."""

import http.client
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Answer:
    """One request's outcome (status 0: no HTTP answer; ``error`` says why, e.g.
    connection refused)."""

    started: float
    status: int
    latency_s: float
    body: bytes
    retry_after: str | None = None
    error: str = ""


@dataclass
class LoadResult:
    answers: list[Answer] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.answers)

    def statuses(self) -> Counter:
        return Counter(a.status for a in self.answers)

    def p99_ms(self, status: int = 200) -> float:
        latencies = sorted(a.latency_s for a in self.answers if a.status == status)
        return 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0.0


class SteadyLoad:
    """``threads`` clients POSTing ``body`` to ``path`` back to back until stopped, or for
    ``max_seconds``. ``fresh_connections``: a new connection per request (so a Service's
    current endpoints pick the pod each time) instead of keep-alive.

    A fresh connection is reset once its whole answer is read (SO_LINGER 0), not closed:
    a client-side close leaves the connection in TIME_WAIT for 60 s, and at a few hundred
    new connections a second to one address (a ClusterIP) the 28k ephemeral ports run
    out, so connect fails with "Cannot assign requested address" although the server is
    fine."""

    def __init__(
        self,
        base_url: str,
        path: str,
        body: bytes,
        threads: int = 4,
        max_seconds: float | None = None,
        fresh_connections: bool = False,
    ):
        self.host = urlsplit(base_url).netloc
        self.path, self.body = path, body
        self.max_seconds, self.fresh_connections = max_seconds, fresh_connections
        self.result = LoadResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(threads)]

    def __enter__(self) -> "SteadyLoad":
        self.started = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        return self.result

    def _client(self) -> None:
        deadline = self.started + self.max_seconds if self.max_seconds else float("inf")
        conn = http.client.HTTPConnection(self.host, timeout=60)
        while not self._stop.is_set() and time.monotonic() < deadline:
            answer, conn = send(conn, self.host, self.path, self.body)
            with self._lock:
                self.result.answers.append(answer)
            if answer.status == 0:
                time.sleep(0.05)  # refused: the server is going away; do not spin
            elif self.fresh_connections:
                reset(conn)
        conn.close()


def send(
    conn: http.client.HTTPConnection, host: str, path: str, body: bytes
) -> tuple[Answer, http.client.HTTPConnection]:
    """POST once on ``conn``; return the answer and the connection (a new one after a failure)."""
    start = time.monotonic()
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        retry = response.getheader("Retry-After")
        answer = Answer(start, response.status, time.monotonic() - start, data, retry)
        if response.will_close:  # e.g. after a 413 the server closes: the next one reconnects
            conn.close()
            conn = http.client.HTTPConnection(host, timeout=60)
        return answer, conn
    except (OSError, http.client.HTTPException) as err:
        conn.close()
        failed = Answer(start, 0, time.monotonic() - start, b"", error=repr(err))
        return failed, http.client.HTTPConnection(host, timeout=60)


def reset(conn: http.client.HTTPConnection) -> None:
    """Close ``conn`` with a reset, keeping no TIME_WAIT state on this side."""
    if conn.sock is not None:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
