"""Evaluation metrics and the publish gate, with a comparison against the published version."""

import json

import pytest

from components.evaluate.evaluate import evaluate_classifier, gate
from components.export.publish import export_and_publish


@pytest.mark.parametrize(
    ("accuracy", "minimum", "margin", "current", "passed", "why"),
    [
        (0.90, 0.80, 0.0, None, True, "no version is published yet"),
        (0.70, 0.80, 0.0, None, False, "below the minimum 0.8"),
        (0.90, 0.80, 0.02, (3, 0.95), False, "worse than published version 3 (0.9500)"),
        (0.94, 0.80, 0.02, (3, 0.95), True, "within 0.02 of published version 3"),
        (0.99, 0.80, 0.00, (3, 0.95), True, "within 0.0 of published version 3"),
    ],
)
def test_gate(accuracy, minimum, margin, current, passed, why):
    ok, reason = gate(accuracy, 100, minimum, margin, current)
    assert ok is passed
    assert why in reason and f"{accuracy:.4f} on 100 images" in reason


def test_metrics_and_comparison_with_the_published_version(
    trained_dir, split_dir, tmp_path, store_root
):
    base = f"{store_root}/models"
    first = evaluate_classifier(
        trained_dir, split_dir, tmp_path / "e1", model_base_uri=base, model_name="m"
    )
    assert first.current_version is None and first.passed
    matrix = first.confusion_matrix
    assert sum(map(sum, matrix)) == 6
    assert first.accuracy == pytest.approx((matrix[0][0] + matrix[1][1]) / 6)
    face = first.per_class["face"]
    assert face.support == 3
    assert face.recall == pytest.approx(matrix[0][0] / 3)
    assert (tmp_path / "e1" / "confusion_matrix.png").stat().st_size > 1000
    assert json.loads((tmp_path / "e1" / "metrics.json").read_text())["accuracy"] == first.accuracy

    export_and_publish(trained_dir, split_dir, base, "m", {"accuracy": first.accuracy})
    second = evaluate_classifier(
        trained_dir, split_dir, tmp_path / "e2", model_base_uri=base, model_name="m"
    )
    # The published version is the same model scored through its serving signature.
    assert (second.current_version, second.current_accuracy) == (1, first.accuracy)
    assert second.passed

    strict = evaluate_classifier(
        trained_dir, split_dir, tmp_path / "e3", min_accuracy=1.01, model_base_uri=base,
        model_name="m",
    )  # fmt: skip
    assert not strict.passed and "below the minimum 1.01" in strict.reason
