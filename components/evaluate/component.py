"""KFP component for the evaluate step."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def evaluate_op(
    model: Input[Model],
    split: Input[Dataset],
    min_accuracy: float,
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    report: Output[Artifact],
) -> NamedTuple("EvalOutputs", passed=bool, accuracy=float, reason=str):  # noqa: F821
    """Score the model on the held-out test split; ``passed`` gates the publish step."""
    from collections import namedtuple

    from components.evaluate.evaluate import evaluate_classifier

    result = evaluate_classifier(model.path, split.path, report.path, min_accuracy=min_accuracy)
    metrics.log_metric("test_accuracy", result.accuracy)
    metrics.log_metric("test_loss", result.loss)
    confusion.log_confusion_matrix(result.classes, result.confusion_matrix)
    outputs = namedtuple("EvalOutputs", ["passed", "accuracy", "reason"])
    return outputs(result.passed, result.accuracy, result.reason)
