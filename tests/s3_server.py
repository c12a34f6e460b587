"""moto's S3 server (``moto_server``'s application) on 127.0.0.1, one request at a time.

Usage: ``python tests/s3_server.py PORT``. The Python tests (s3_emulator.py) and the Go
storage tests start it.

moto answers ``PutObject`` with ``If-None-Match: *`` by looking the key up and then
writing it, two steps; ``moto_server`` runs requests on parallel threads, so two
conditional writes of one key can both pass the look-up and both succeed. S3 decides
such writes atomically: one succeeds, the other gets 412. Serving one request at a
time gives moto's check and write that atomicity, so a race test tests the publisher.
"""

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class OneAtATime:
    """WSGI middleware: the wrapped application handles one request at a time."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.lock:
            return list(self.app(environ, start_response))


def main() -> None:
    port = int(sys.argv[1])
    app = OneAtATime(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
