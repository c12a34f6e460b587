"""The compiled pipeline's ``dsl.If`` conditions, bound and evaluated as the KFP backend does.

The backend's driver (kubeflow/pipelines backend/src/v2/driver, expression) resolves a
conditional task's input parameters, from pipeline parameters or upstream task outputs,
into ``ExecutorInput.inputs.parameter_values``, and evaluates ``trigger_policy.condition``
with cel-go over the ExecutorInput's fields. :func:`cel_decisions` does the same with
cel-go itself (``tools/celcond``) and the real ExecutorInput message type from
kfp-pipeline-spec, so the decisions here are CEL's, not a translation of it.
"""

import base64
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, json_format, struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

ROOT = Path(__file__).resolve().parent.parent
CELCOND = ROOT / "build" / "tools" / "bin" / "celcond"


@dataclass(frozen=True)
class Gate:
    """A conditional task: its display name, its CEL condition, the gates it sits inside,
    and where each input parameter comes from: ``("parameter", name)`` for a pipeline
    parameter or ``("output", task, key)`` for an upstream task's output."""

    name: str
    condition: str
    inside: tuple[str, ...]
    bindings: dict[str, tuple[str, ...]]


def gates(spec: dict) -> dict[str, Gate]:
    """Every task with a trigger condition in the compiled pipeline, by display name."""
    found: dict[str, Gate] = {}

    def walk(dag: dict, scope: dict[str, tuple[str, ...]], inside: tuple[str, ...]) -> None:
        for task in dag.get("dag", {}).get("tasks", {}).values():
            bindings = {key: _source(spec_, scope) for key, spec_ in _parameters(task).items()}
            name = task["taskInfo"]["name"]
            nested = inside
            if "triggerPolicy" in task:
                found[name] = Gate(name, task["triggerPolicy"]["condition"], inside, bindings)
                nested = (*inside, name)
            ref = task.get("componentRef", {}).get("name")
            if ref and "dag" in spec["components"][ref]:
                walk(spec["components"][ref], bindings, nested)

    root_scope = {p: ("parameter", p) for p in spec["root"]["inputDefinitions"]["parameters"]}
    walk(spec["root"], root_scope, ())
    return found


def _parameters(task: dict) -> dict:
    return task.get("inputs", {}).get("parameters", {})


def _source(binding: dict, scope: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if "componentInputParameter" in binding:
        return scope[binding["componentInputParameter"]]
    if "taskOutputParameter" in binding:
        out = binding["taskOutputParameter"]
        return ("output", out["producerTask"], out["outputParameterKey"])
    if "runtimeValue" in binding:
        return ("constant", json.dumps(binding["runtimeValue"]["constant"]))
    raise ValueError(f"unexpected input binding {binding}")


def executor_input(gate: Gate, parameters: dict, outputs: dict[tuple[str, str], object]) -> dict:
    """The ExecutorInput the driver would evaluate ``gate`` on (as JSON)."""
    message = pipeline_spec_pb2.ExecutorInput()
    for key, source in gate.bindings.items():
        if source[0] == "parameter":
            value = parameters[source[1]]
        elif source[0] == "output":
            value = outputs[(source[1], source[2])]
        else:
            value = json.loads(source[1])
        parsed = struct_pb2.Value()
        json_format.ParseDict(value, parsed)
        message.inputs.parameter_values[key].CopyFrom(parsed)
    return json_format.MessageToDict(message)


def cel_decisions(cases: list[tuple[str, dict]]) -> list[bool]:
    """cel-go's decision for each (condition, executor input JSON); an error fails."""
    if not CELCOND.is_file():
        raise AssertionError(f"{CELCOND} missing: run `make build/tools/bin/celcond`")
    request = {
        "descriptor_set": _descriptor_set(),
        "cases": [{"condition": c, "executor_input": e} for c, e in cases],
    }
    proc = subprocess.run(
        [str(CELCOND)], input=json.dumps(request), capture_output=True, text=True, check=True
    )
    results = json.loads(proc.stdout)
    errors = [r["error"] for r in results if r.get("error")]
    assert not errors, errors
    return [r["run"] for r in results]


def _descriptor_set() -> str:
    """pipeline_spec.proto and everything it imports, as a base64 FileDescriptorSet."""
    out, seen = descriptor_pb2.FileDescriptorSet(), set()

    def add(file) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            add(dependency)
        file.CopyToProto(out.file.add())

    add(pipeline_spec_pb2.DESCRIPTOR)
    return base64.b64encode(out.SerializeToString()).decode()


def runs(decisions: dict[str, Gate], parameters: dict, outputs: dict) -> dict[str, bool]:
    """Whether each gated task runs: its condition and every enclosing gate's, under CEL."""
    names = list(decisions)
    verdicts = dict(
        zip(
            names,
            cel_decisions(
                [(g.condition, executor_input(g, parameters, outputs)) for g in decisions.values()]
            ),
            strict=True,
        )
    )
    return {
        name: verdicts[name] and all(verdicts[outer] for outer in decisions[name].inside)
        for name in names
    }


def pipeline_parameters(spec: dict, **given: object) -> dict:
    """The pipeline's parameters as a run gets them: ``given``, else each default."""
    definitions = spec["root"]["inputDefinitions"]["parameters"]
    values = {k: d["defaultValue"] for k, d in definitions.items() if "defaultValue" in d}
    return {**values, **given}
