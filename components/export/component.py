"""KFP component for the export-and-publish step."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Model

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def export_op(
    model: Input[Model],
    split: Input[Dataset],
    passed: bool,
    reason: str,
    test_accuracy: float,
    model_base_uri: str,
    model_name: str,
) -> NamedTuple("PublishOutputs", version=int, uri=str):  # noqa: F821
    """Export the image-bytes SavedModel and publish it as ``<base>/<name>/<next version>``.

    This step is the publish gate: it fails, publishing nothing, unless the
    evaluate step ``passed``.
    """
    from collections import namedtuple

    from components.errors import GateError
    from components.export.publish import export_and_publish

    if not passed:
        raise GateError(f"not publishing {model_name}: {reason}")

    published = export_and_publish(
        model.path, split.path, model_base_uri, model_name, {"test_accuracy": test_accuracy}
    )
    outputs = namedtuple("PublishOutputs", ["version", "uri"])
    return outputs(published.version, published.uri)
