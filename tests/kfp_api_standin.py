"""A strict loopback stand-in for the Kubeflow Pipelines v2beta1 REST API, for ``submit``.

No KFP backend can run here: its Go modules (API server, driver, launcher) and Argo are
not served by the module proxy, and no image can be pulled. So the submit tests talk to
this instead, with the real ``kfp.Client`` over real HTTP. It refuses what the API server
refuses (backend/src/apiserver/server: pipeline_upload_server.go, run and recurring-run
validation), and answers in its shapes, built with kfp-server-api's own models:

- an upload that does not parse as a ``PipelineSpec`` (kfp-pipeline-spec's protos,
  unknown fields refused) gets 400 "Failed to read a pipeline spec file";
- a pipeline name that is taken gets 409; a version goes under an existing pipeline;
- a run's parameters must be inputs of the version's spec, of their declared types, and
  every input without a default must be given (400, gRPC code 3);
- a recurring run's cron must parse as the API server's (robfig/cron, seconds first).

What it cannot show: scheduling, Argo, artifact passing between pods, and the UI.
"""

import email.parser
import json
import re
import threading
import types
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import kfp_server_api as api
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

_client = api.ApiClient()

# The JSON type each IR parameter type takes (bool is not a number here).
_PARAMETER_TYPES = {
    "STRING": (str,), "NUMBER_INTEGER": (int,), "NUMBER_DOUBLE": (int, float),
    "BOOLEAN": (bool,), "STRUCT": (dict,), "LIST": (list,),
}  # fmt: skip


class APIError(Exception):
    """A refusal: the HTTP status and the google.rpc.Status the gateway would send."""

    def __init__(self, http_status: int, grpc_code: int, message: str):
        super().__init__(message)
        self.http_status, self.grpc_code = http_status, grpc_code


def _invalid(message: str) -> APIError:
    return APIError(400, 3, message)


class KFPStandIn:
    """Pipelines, versions, experiments, runs and recurring runs, in memory."""

    def __init__(self) -> None:
        self.pipelines: dict[str, api.V2beta1Pipeline] = {}
        self.versions: dict[str, list[api.V2beta1PipelineVersion]] = {}
        self.specs: dict[str, dict] = {}  # version id -> its PipelineSpec (JSON)
        self.experiments: dict[str, api.V2beta1Experiment] = {}
        self.runs: list[api.V2beta1Run] = []
        self.recurring_runs: list[api.V2beta1RecurringRun] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    # ---- routes -------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict, headers, body: bytes) -> object:
        if path == "/apis/v2beta1/healthz":
            return {"multi_user": False}
        if (method, path) == ("GET", "/apis/v2beta1/pipelines"):
            found = [p for p in self.pipelines.values() if p.display_name == _name_filter(query)]
            return api.V2beta1ListPipelinesResponse(pipelines=found, total_size=len(found))
        if (method, path) == ("POST", "/apis/v2beta1/pipelines/upload"):
            return self._upload(query, headers, body)
        if (method, path) == ("POST", "/apis/v2beta1/pipelines/upload_version"):
            return self._upload_version(query, headers, body)
        if match := re.fullmatch(r"/apis/v2beta1/pipelines/(\w+)/versions", path):
            versions = self.versions.get(match.group(1), [])[::-1]  # newest first
            return api.V2beta1ListPipelineVersionsResponse(
                pipeline_versions=versions, total_size=len(versions)
            )
        if (method, path) == ("GET", "/apis/v2beta1/experiments"):
            name = _name_filter(query)
            found = [e for e in self.experiments.values() if e.display_name == name]
            return api.V2beta1ListExperimentsResponse(experiments=found, total_size=len(found))
        if (method, path) == ("POST", "/apis/v2beta1/experiments"):
            experiment = _parse(body, "V2beta1Experiment")
            experiment.experiment_id, experiment.created_at = uuid.uuid4().hex, _now()
            self.experiments[experiment.experiment_id] = experiment
            return experiment
        if (method, path) == ("POST", "/apis/v2beta1/runs"):
            run = _parse(body, "V2beta1Run")
            self._check_run(run.experiment_id, run.pipeline_version_reference, run.runtime_config)
            run.run_id, run.created_at, run.state = uuid.uuid4().hex, _now(), "PENDING"
            self.runs.append(run)
            return run
        if (method, path) == ("POST", "/apis/v2beta1/recurringruns"):
            job = _parse(body, "V2beta1RecurringRun")
            self._check_run(job.experiment_id, job.pipeline_version_reference, job.runtime_config)
            _check_cron(job.trigger)
            job.recurring_run_id, job.created_at, job.status = uuid.uuid4().hex, _now(), "ENABLED"
            self.recurring_runs.append(job)
            return job
        raise APIError(404, 5, f"{method} {path} is not an endpoint of this stand-in")

    def _upload(self, query: dict, headers, body: bytes) -> api.V2beta1Pipeline:
        spec = _read_spec(headers, body, "Failed to read a pipeline spec file")
        name = query.get("name", [""])[0] or spec["pipelineInfo"]["name"]
        if any(p.display_name == name for p in self.pipelines.values()):
            raise APIError(409, 6, "Failed to create a pipeline and a pipeline version")
        pipeline = api.V2beta1Pipeline(
            pipeline_id=uuid.uuid4().hex, name=name, display_name=name, created_at=_now()
        )
        self.pipelines[pipeline.pipeline_id] = pipeline
        self._add_version(pipeline.pipeline_id, name, spec)
        return pipeline

    def _upload_version(self, query: dict, headers, body: bytes) -> api.V2beta1PipelineVersion:
        spec = _read_spec(headers, body, "Failed to create a pipeline version")
        pipeline_id = query.get("pipelineid", [""])[0]
        if pipeline_id not in self.pipelines:
            raise APIError(400, 3, "Failed to create a pipeline version")
        name = query.get("name", [""])[0] or spec["pipelineInfo"]["name"]
        if any(v.display_name == name for v in self.versions[pipeline_id]):
            raise APIError(409, 6, "Failed to create a pipeline version")
        return self._add_version(pipeline_id, name, spec)

    def _add_version(self, pipeline_id: str, name: str, spec: dict) -> api.V2beta1PipelineVersion:
        version = api.V2beta1PipelineVersion(
            pipeline_id=pipeline_id, pipeline_version_id=uuid.uuid4().hex, name=name,
            display_name=name, created_at=_now(), pipeline_spec=spec,
        )  # fmt: skip
        self.versions.setdefault(pipeline_id, []).append(version)
        self.specs[version.pipeline_version_id] = spec
        return version

    def _check_run(self, experiment_id, reference, runtime_config) -> None:
        if experiment_id not in self.experiments:
            raise _invalid(f"Failed to fetch experiment: experiment {experiment_id} not found")
        spec = self.specs.get(getattr(reference, "pipeline_version_id", None))
        if spec is None:
            raise _invalid("Failed to fetch a pipeline version: no such pipeline version")
        given = (runtime_config.parameters if runtime_config else None) or {}
        inputs = spec["root"].get("inputDefinitions", {}).get("parameters", {})
        for name, value in given.items():
            if name not in inputs:
                raise _invalid(f"Invalid input error: parameter {name!r} is not an input of "
                               "the pipeline")  # fmt: skip
            kind = inputs[name]["parameterType"]
            if isinstance(value, bool) != (kind == "BOOLEAN") or not isinstance(
                value, _PARAMETER_TYPES[kind]
            ):
                raise _invalid(
                    f"Invalid input error: parameter {name!r} is {kind}, got "
                    f"{type(value).__name__} {json.dumps(value)}"
                )
        for name, definition in inputs.items():
            if (
                name not in given
                and "defaultValue" not in definition
                and not definition.get("isOptional")
            ):
                raise _invalid(f"Invalid input error: parameter {name!r} is required")

    # ---- HTTP -----------------------------------------------------------------------

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    reply = standin._route(method, url.path, parse_qs(url.query), self.headers,
                                           body)  # fmt: skip
                    status, data = 200, reply if isinstance(reply, dict) else _json(reply)
                except APIError as err:
                    status = err.http_status
                    data = _json(api.GoogleRpcStatus(code=err.grpc_code, message=str(err),
                                                     details=[]))  # fmt: skip
                    data["error"] = str(err)  # grpc-gateway sends both
                encoded = json.dumps(data, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args) -> None:
                pass

        return Handler


def _json(model: object) -> dict:
    return _client.sanitize_for_serialization(model)


def _parse(body: bytes, model: str):
    """A request body as kfp-server-api's model (its own deserializer and validation)."""
    try:
        return _client.deserialize(types.SimpleNamespace(data=body.decode()), model)
    except (ValueError, TypeError) as err:
        raise _invalid(f"Failed to parse the request body as {model}: {err}") from err


def _read_spec(headers, body: bytes, failure: str) -> dict:
    """The uploaded file (form field ``uploadfile``) as PipelineSpec JSON; the platform
    spec, if any, must parse too."""
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
    )
    parts = [p for p in message.get_payload() if p.get_param("name", header="content-disposition")
             == "uploadfile"] if message.is_multipart() else []  # fmt: skip
    if not parts:
        raise APIError(400, 3, "Failed to read pipeline from file")
    try:
        documents = [d for d in yaml.safe_load_all(parts[0].get_payload(decode=True)) if d]
        if not documents:
            raise ValueError("the file is empty")
        json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
        for platform in documents[1:]:
            json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
        if not documents[0].get("pipelineInfo", {}).get("name"):
            raise ValueError("pipelineInfo.name is empty")
    except (yaml.YAMLError, json_format.ParseError, ValueError, AttributeError) as err:
        reason = " ".join(str(err).split())
        raise APIError(400, 3, f"{failure}: invalid pipeline spec: {reason}") from err
    return documents[0]


# robfig/cron with seconds, as the API server parses a cron schedule: six fields.
_CRON_FIELDS = [("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23),
                ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6)]  # fmt: skip
_CRON_NAMES = {
    4: {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    5: {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())},
}


def _check_cron(trigger) -> None:
    cron = trigger.cron_schedule.cron if trigger and trigger.cron_schedule else ""
    fields = cron.split()
    problem = None if len(fields) == 6 else f"expected 6 fields, found {len(fields)}"
    for i, field in enumerate(fields if problem is None else []):
        name, low, high = _CRON_FIELDS[i]
        if not all(
            _cron_part(part, low, high, _CRON_NAMES.get(i, {})) for part in field.split(",")
        ):
            problem = f"bad {name} field {field!r}"
            break
    if problem:
        raise _invalid(
            "Invalid input error: Schedule cron is not a supported format"
            f"(https://godoc.org/github.com/robfig/cron). Error: {problem}"
        )


def _cron_part(part: str, low: int, high: int, names: dict[str, int]) -> bool:
    span, _, step = part.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        return False
    if span in ("*", "?"):
        return True
    bounds = [names.get(b.lower(), int(b) if b.isdigit() else -1) for b in span.split("-")]
    return (
        1 <= len(bounds) <= 2 and all(low <= b <= high for b in bounds) and bounds == sorted(bounds)
    )


def _name_filter(query: dict) -> str | None:
    if "filter" not in query:
        return None
    predicates = json.loads(query["filter"][0]).get("predicates", [])
    return next((p.get("string_value") or p.get("stringValue") for p in predicates), None)


def _now() -> datetime:
    return datetime.now(UTC)
