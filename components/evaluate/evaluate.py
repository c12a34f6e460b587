"""Held-out test metrics for a trained classifier, and the gate that decides publishing.

The gate passes when the new model clears an absolute minimum accuracy and is
not worse than the version currently published for this model (scored on the
same test split, through its serving signature) by more than a margin.
"""

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from components.export.savedmodel import INPUT_KEY, SERVING_SIGNATURE
from components.plots import plot_confusion_matrix
from components.prepare.dataset import read_split
from components.storage import open_store
from components.train.data import image_dataset
from components.train.train import load_trained


@dataclass
class ClassMetrics:
    """Per-class precision, recall and F1 on the test split."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalResult:
    """Held-out metrics and the gate decision."""

    accuracy: float
    loss: float
    classes: list[str]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted
    per_class: dict[str, ClassMetrics]
    passed: bool
    reason: str
    current_version: int | None = None
    current_accuracy: float | None = None


def evaluate_classifier(
    model_dir: str | Path,
    split_dir: str | Path,
    out_dir: str | Path,
    *,
    min_accuracy: float = 0.0,
    max_regression: float = 0.0,
    model_base_uri: str = "",
    model_name: str = "",
) -> EvalResult:
    """Score the trained model on the test split and decide whether it may be published.

    Args:
        model_dir: the train step's output.
        split_dir: the prepare step's output.
        out_dir: receives ``metrics.json`` and ``confusion_matrix.png``.
        min_accuracy: the absolute minimum test accuracy.
        max_regression: how much lower than the published version's accuracy is tolerated.
        model_base_uri: where versions are published; with ``model_name``, the
            latest published version is scored on the same test split.
        model_name: the published model's name.
    """
    model, classes, params = load_trained(model_dir)
    paths, labels, split_classes = read_split(split_dir, "test")
    if split_classes != classes:
        raise ValueError(f"model classes {classes} differ from the split's {split_classes}")
    ds = image_dataset(
        paths, labels, image_size=params.image_size, batch_size=params.batch_size, training=False
    )
    probabilities = model.predict(ds, verbose=0)
    truth = np.asarray(labels)
    accuracy, loss, matrix = _score(probabilities, truth, len(classes))
    current = _score_published(model_base_uri, model_name, paths, truth, classes)
    passed, reason = gate(accuracy, len(truth), min_accuracy, max_regression, current)
    result = EvalResult(
        accuracy=accuracy,
        loss=loss,
        classes=classes,
        confusion_matrix=matrix.tolist(),
        per_class=_per_class(matrix, classes),
        passed=passed,
        reason=reason,
        current_version=current[0] if current else None,
        current_accuracy=current[1] if current else None,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(asdict(result), indent=1))
    plot_confusion_matrix(result.confusion_matrix, classes, out / "confusion_matrix.png")
    print(f"evaluate: {reason}")
    return result


def gate(
    accuracy: float,
    images: int,
    min_accuracy: float,
    max_regression: float,
    current: tuple[int, float] | None,
) -> tuple[bool, str]:
    """Decide whether a model with ``accuracy`` may replace ``current`` (version, accuracy)."""
    text = f"test accuracy {accuracy:.4f} on {images} images"
    if accuracy < min_accuracy:
        return False, f"{text} is below the minimum {min_accuracy}"
    if current is None:
        return True, f"{text} clears the minimum {min_accuracy}; no version is published yet"
    version, published = current
    if accuracy < published - max_regression:
        return False, (
            f"{text} is worse than published version {version} ({published:.4f}) "
            f"by more than {max_regression}"
        )
    return True, (
        f"{text} clears the minimum {min_accuracy} and is within {max_regression} "
        f"of published version {version} ({published:.4f})"
    )


def _score(probabilities: np.ndarray, truth: np.ndarray, n: int) -> tuple[float, float, np.ndarray]:
    predicted = probabilities.argmax(axis=1)
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    picked = probabilities[np.arange(len(truth)), truth]
    loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
    return float((predicted == truth).mean()), loss, matrix


def _per_class(matrix: np.ndarray, classes: list[str]) -> dict[str, ClassMetrics]:
    metrics = {}
    for i, name in enumerate(classes):
        tp, predicted, actual = matrix[i, i], matrix[:, i].sum(), matrix[i].sum()
        precision = float(tp / predicted) if predicted else 0.0
        recall = float(tp / actual) if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[name] = ClassMetrics(precision, recall, f1, int(actual))
    return metrics


def _score_published(
    model_base_uri: str, model_name: str, paths: list[str], truth: np.ndarray, classes: list[str]
) -> tuple[int, float] | None:
    """Accuracy of the latest published version on the same test images, or None."""
    if not model_base_uri or not model_name:
        return None
    store = open_store(model_base_uri)
    versions = store.versions(model_name)
    if not versions:
        return None
    version = versions[-1]
    with tempfile.TemporaryDirectory(prefix="published-") as tmp:
        local = store.download(f"{model_name}/{version}", Path(tmp) / "model")
        published_classes = (local / "assets" / "labels.txt").read_text().split("\n")[:-1]
        if published_classes != classes:
            print(
                f"evaluate: version {version} has other classes {published_classes}; not compared"
            )
            return None
        signature = tf.saved_model.load(str(local)).signatures[SERVING_SIGNATURE]
        predicted = []
        for start in range(0, len(paths), 32):
            batch = tf.constant([Path(p).read_bytes() for p in paths[start : start + 32]])
            predicted.append(signature(**{INPUT_KEY: batch})["class_id"].numpy())
    accuracy = float((np.concatenate(predicted) == truth).mean())
    print(f"evaluate: published version {version} scores {accuracy:.4f} on the same test split")
    return version, accuracy
