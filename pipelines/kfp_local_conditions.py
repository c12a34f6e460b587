"""Let kfp.local resolve a task's named output in a ``dsl.If`` condition.

kfp 2.17 evaluates the compiled conditions locally (kubeflow/pipelines#11793,
fixed in part by #13331), but it resolves ``pipelinechannel--<task>-<output>``
only for a task's single ``Output``: a named output such as
``evaluate.outputs["passed"]``, which the accuracy gate tests, is looked up as
a pipeline input, is not found, and the condition is False, so the gated
steps never run locally. Pipeline parameters (``deploy_namespace != ""``) and
the CEL-to-Python translation are kfp's own and are left alone.

:func:`install` adds only the missing lookup, after kfp's own has failed.
``tests/test_pipeline_conditions.py`` checks the decisions against cel-go,
the backend's CEL engine, and fails once kfp resolves named outputs itself:
then delete this module.
"""

from kfp.local import io
from kfp.local.orchestrator.enhanced_dag_orchestrator import ConditionEvaluator

upstream_resolve = ConditionEvaluator._resolve_pipeline_channel


def resolve_channel(channel: str, io_store: io.IOStore) -> object:
    """kfp's resolution of ``pipelinechannel--<name>``, else ``<name>`` as
    ``<task>-<output>`` of an upstream task (task names may contain dashes)."""
    value = upstream_resolve(channel, io_store)
    if value is not None:
        return value
    name = channel.removeprefix("pipelinechannel--")
    for i, char in enumerate(name):
        if char == "-":
            try:
                return io_store.get_task_output(name[:i], name[i + 1 :])
            except ValueError:
                continue
    return None


def install() -> None:
    """Use :func:`resolve_channel` in kfp.local's condition evaluator."""
    ConditionEvaluator._resolve_pipeline_channel = staticmethod(resolve_channel)
