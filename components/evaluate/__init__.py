"""Evaluate: held-out test metrics and the gate that decides whether to publish."""

from components.evaluate.evaluate import EvalResult, evaluate_classifier, gate

__all__ = ["EvalResult", "evaluate_classifier", "gate"]
