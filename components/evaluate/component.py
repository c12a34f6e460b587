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
    max_regression: float,
    model_base_uri: str,
    model_name: str,
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    report: Output[Artifact],
) -> NamedTuple("EvalOutputs", passed=bool, accuracy=float, reason=str):  # type: ignore[valid-type]  # noqa: F821 (KFP reads it)
    """Score the model on the test split, compare with the published version; gate publishing."""
    from collections import namedtuple

    from components.evaluate.evaluate import evaluate_classifier

    result = evaluate_classifier(
        model.path,
        split.path,
        report.path,
        min_accuracy=min_accuracy,
        max_regression=max_regression,
        model_base_uri=model_base_uri,
        model_name=model_name,
    )
    metrics.log_metric("test_accuracy", result.accuracy)
    metrics.log_metric("test_loss", result.loss)
    for name, m in result.per_class.items():
        metrics.log_metric(f"f1_{name}", m.f1)
    if result.current_accuracy is not None:
        metrics.log_metric("published_accuracy", result.current_accuracy)
    confusion.log_confusion_matrix(result.classes, result.confusion_matrix)
    outputs = namedtuple("EvalOutputs", ["passed", "accuracy", "reason"])  # type: ignore[name-match]
    return outputs(result.passed, result.accuracy, result.reason)
