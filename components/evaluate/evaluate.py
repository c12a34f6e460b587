"""Test-split metrics for a trained classifier and the publish gate."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from components.plots import plot_confusion_matrix
from components.prepare.dataset import read_split
from components.train.data import image_dataset
from components.train.train import load_trained


@dataclass
class EvalResult:
    """Held-out metrics and the gate decision."""

    accuracy: float
    loss: float
    classes: list[str]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted
    passed: bool
    reason: str


def evaluate_classifier(
    model_dir: str | Path, split_dir: str | Path, out_dir: str | Path, *, min_accuracy: float = 0.0
) -> EvalResult:
    """Score the trained model on the test split and decide whether it may be published.

    Writes ``metrics.json`` and ``confusion_matrix.png`` to ``out_dir``.
    """
    model, classes, params = load_trained(model_dir)
    paths, labels, split_classes = read_split(split_dir, "test")
    if split_classes != classes:
        raise ValueError(f"model classes {classes} differ from the split's {split_classes}")
    ds = image_dataset(
        paths, labels, image_size=params.image_size, batch_size=params.batch_size, training=False
    )
    probabilities = model.predict(ds, verbose=0)
    predicted = probabilities.argmax(axis=1)
    truth = np.asarray(labels)
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    accuracy = float((predicted == truth).mean())
    picked = probabilities[np.arange(len(truth)), truth]
    loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
    passed = accuracy >= min_accuracy
    verdict = "clears" if passed else "is below"
    reason = (
        f"test accuracy {accuracy:.4f} on {len(truth)} images {verdict} the minimum {min_accuracy}"
    )
    result = EvalResult(accuracy, loss, classes, matrix.tolist(), passed, reason)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(asdict(result), indent=1))
    plot_confusion_matrix(result.confusion_matrix, classes, out / "confusion_matrix.png")
    print(f"evaluate: {reason}")
    return result
