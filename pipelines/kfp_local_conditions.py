"""Make kfp.local evaluate the ``dsl.If`` conditions that the KFP compiler writes.

kfp 2.16.1's local orchestrator evaluates a condition such as
``inputs.parameter_values['pipelinechannel--evaluate-op-passed'] == true`` as a
Python expression without resolving ``inputs.parameter_values[...]`` or CEL's
``true``/``false``, so every condition evaluates to False and the gated tasks
never run locally. On a cluster the backend evaluates them correctly.

:func:`install` replaces that evaluator for local runs only: it resolves each
channel to the parent's input or an upstream task's output and evaluates the
expression with Python's operators. Remove it once kfp.local does this itself.
"""

import re

from kfp.local import io
from kfp.local.orchestrator import enhanced_dag_orchestrator

_PARAMETER = re.compile(r"inputs\.parameter_values\['(pipelinechannel--[^']+)'\]")
_CHANNEL = re.compile(r"pipelinechannel--[A-Za-z0-9_\-]+")
_CEL_LITERALS = {"true": "True", "false": "False", "null": "None"}


def evaluate_condition(condition: str, io_store: io.IOStore) -> bool:
    """Evaluate a compiled KFP condition against the values produced so far."""
    if not condition.strip():
        return True
    expression = _PARAMETER.sub(lambda m: m.group(1), condition)
    expression = re.sub(r"\b(true|false|null)\b", lambda m: _CEL_LITERALS[m.group(1)], expression)
    expression = _CHANNEL.sub(lambda m: repr(_resolve(m.group(0), io_store)), expression)
    return bool(eval(expression, {"__builtins__": {}}, {}))  # noqa: S307 - compiled by kfp


def _resolve(channel: str, io_store: io.IOStore) -> object:
    """Resolve ``pipelinechannel--<name>``: an input of the enclosing DAG (a nested
    condition's inputs keep the full channel name), a pipeline input, or the output
    ``<task>-<output>`` of an upstream task."""
    name = channel.removeprefix("pipelinechannel--")
    for key in (channel, name):
        try:
            return io_store.get_parent_input(key)
        except ValueError:
            pass
    for i, char in enumerate(name):
        if char == "-":
            try:
                return io_store.get_task_output(name[:i], name[i + 1 :])
            except ValueError:
                continue
    raise ValueError(f"condition refers to {name!r}, which no input or task output provides")


def install() -> None:
    """Use :func:`evaluate_condition` in kfp.local's orchestrator."""
    enhanced_dag_orchestrator.ConditionEvaluator.evaluate_condition = staticmethod(
        evaluate_condition
    )
