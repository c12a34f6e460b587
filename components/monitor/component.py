"""KFP component for the monitor step."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Metrics, Output

from components.kfp_image import TRAINER_IMAGE


@dsl.component(base_image=TRAINER_IMAGE)
def monitor_op(
    prediction_log_uri: str,
    model_base_uri: str,
    model_name: str,
    train_when_drift_above: float,
    window_days: int,
    metrics: Output[Metrics],
    report: Output[Artifact],
    min_instances: int = 100,
    max_low_confidence_share: float = 0.2,
) -> NamedTuple("MonitorOutputs", train=bool, drifted=bool, drift_score=float, reason=str):  # type: ignore[valid-type]  # noqa: F821 (KFP reads it)
    """Decide whether to train: always when ``train_when_drift_above`` <= 0 or nothing is
    published yet, else only when the latest version's served requests drifted."""
    from collections import namedtuple

    from components.monitor.drift import training_decision

    decision = training_decision(
        train_when_drift_above,
        prediction_log_uri,
        model_base_uri,
        model_name,
        report.path,
        days=window_days,
        min_instances=min_instances,
        max_low_confidence_share=max_low_confidence_share,
    )
    drifted, drift_score = False, 0.0
    if (found := decision.report) is not None:
        drifted, drift_score = found.drifted, found.drift_score
        metrics.log_metric("drift_score", found.drift_score)
        metrics.log_metric("records", found.records)
        metrics.log_metric("instances", found.instances)
        metrics.log_metric("corrupt_files", len(found.corrupt_files))
        for name, signal in found.signals.items():
            if signal.score is not None:
                key = "low_confidence_share" if name == "low_confidence" else f"psi_{name}"
                metrics.log_metric(key, signal.score)
    outputs = namedtuple("MonitorOutputs", ["train", "drifted", "drift_score", "reason"])  # type: ignore[name-match]
    return outputs(decision.train, drifted, drift_score, decision.reason)
