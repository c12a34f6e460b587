"""A loopback stand-in for the Kubeflow Pipelines v2beta1 REST API, for ``pipelines submit``.

A KFP backend (API server, MySQL, Argo, object store) cannot run here, so the
submit tests talk to this instead: the real ``kfp.Client`` over real HTTP, with
the few endpoints it calls answered from memory and every request recorded.
"""

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeKFP:
    """Pipelines, versions, experiments, runs and recurring runs, in memory."""

    def __init__(self) -> None:
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, list[dict]] = {}
        self.experiments: dict[str, dict] = {}
        self.runs: list[dict] = []
        self.recurring_runs: list[dict] = []
        self.uploads: list[bytes] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    def _route(self, method: str, path: str, query: dict, body: bytes) -> dict:
        name_filter = _display_name_filter(query)
        if path == "/apis/v2beta1/healthz":
            return {"multi_user": False}
        if (method, path) == ("GET", "/apis/v2beta1/pipelines"):
            found = [p for p in self.pipelines.values() if p["display_name"] == name_filter]
            return {"pipelines": found, "total_size": len(found)}
        if (method, path) == ("POST", "/apis/v2beta1/pipelines/upload"):
            name = query["name"][0]
            pipeline = {"pipeline_id": uuid.uuid4().hex, "display_name": name}
            self.pipelines[pipeline["pipeline_id"]] = pipeline
            self.uploads.append(body)
            self._add_version(pipeline["pipeline_id"], name)
            return pipeline
        if (method, path) == ("POST", "/apis/v2beta1/pipelines/upload_version"):
            self.uploads.append(body)
            return self._add_version(query["pipelineid"][0], query["name"][0])
        if match := re.fullmatch(r"/apis/v2beta1/pipelines/(\w+)/versions", path):
            versions = self.versions[match.group(1)][::-1]  # newest first
            return {"pipeline_versions": versions, "total_size": len(versions)}
        if (method, path) == ("GET", "/apis/v2beta1/experiments"):
            found = [e for e in self.experiments.values() if e["display_name"] == name_filter]
            return {"experiments": found, "total_size": len(found)}
        if (method, path) == ("POST", "/apis/v2beta1/experiments"):
            experiment = {**json.loads(body), "experiment_id": uuid.uuid4().hex}
            self.experiments[experiment["experiment_id"]] = experiment
            return experiment
        if (method, path) == ("POST", "/apis/v2beta1/runs"):
            run = {**json.loads(body), "run_id": uuid.uuid4().hex}
            self.runs.append(run)
            return run
        if (method, path) == ("POST", "/apis/v2beta1/recurringruns"):
            job = {**json.loads(body), "recurring_run_id": uuid.uuid4().hex}
            self.recurring_runs.append(job)
            return job
        raise KeyError(f"{method} {path}")

    def _add_version(self, pipeline_id: str, name: str) -> dict:
        version = {"pipeline_id": pipeline_id, "pipeline_version_id": uuid.uuid4().hex,
                   "display_name": name}  # fmt: skip
        self.versions.setdefault(pipeline_id, []).append(version)
        return version

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    reply, status = fake._route(method, url.path, parse_qs(url.query), body), 200
                except KeyError as err:
                    reply, status = {"error": f"not in the fake: {err}"}, 404
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args) -> None:
                pass

        return Handler


def _display_name_filter(query: dict) -> str | None:
    if "filter" not in query:
        return None
    predicates = json.loads(query["filter"][0]).get("predicates", [])
    return next((p.get("string_value") or p.get("stringValue") for p in predicates), None)
