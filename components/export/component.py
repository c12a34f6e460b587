"""KFP component for the export-and-publish step."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def export_op(
    model: Input[Model],
    split: Input[Dataset],
    evaluation: Input[Artifact],
    model_base_uri: str,
    model_name: str,
) -> NamedTuple("PublishOutputs", version=int, uri=str):  # type: ignore[valid-type]  # noqa: F821 (KFP reads it)
    """Export the image-bytes SavedModel and publish it as ``<base>/<name>/<next version>``.

    This step is the publish gate: it fails, publishing nothing, unless the
    evaluation in ``evaluation/metrics.json`` passed.
    """
    import json
    import os
    from collections import namedtuple

    from components.errors import GateError
    from components.export.publish import export_and_publish

    with open(os.path.join(evaluation.path, "metrics.json")) as f:
        metrics = json.load(f)
    if not metrics["passed"]:
        raise GateError(f"not publishing {model_name}: {metrics['reason']}")
    published = export_and_publish(model.path, split.path, model_base_uri, model_name, metrics)
    outputs = namedtuple("PublishOutputs", ["version", "uri"])  # type: ignore[name-match]
    return outputs(published.version, published.uri)
