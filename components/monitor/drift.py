"""Drift between what a published version was trained on and what it is serving.

The reference is the version's ``metadata.json`` ``data_stats`` (written by the
export step from the prepare step's ``stats.json``); the served side is the Go
predictor's prediction logs in a window of date partitions
(:mod:`components.monitor.logs`). Four signals, each with a score and a status:

- ``predicted_class``: the top-1 predicted class of each served instance vs the
  train split's class counts; population stability index (PSI).
- ``image_size``: the served images' ``WxH`` vs the dataset's size histogram; PSI
  over the training set's 9 most common sizes plus ``other`` (every other size).
- ``brightness``: the served images' mean luma vs the train split's brightness
  histogram; PSI over the same 10 equal bins of [0, 1].
- ``low_confidence``: the share of instances whose top-1 score is below
  ``low_confidence_score`` (0.5) vs a fixed limit, ``max_low_confidence_share``.

PSI = sum over bins of (served - training) * ln(served / training), on the bins'
shares, each share floored at 1e-4 so that an empty bin does not make it infinite.
The usual reading: below 0.1 no drift (status ``none``), 0.1 to 0.25 ``moderate``,
above 0.25 ``significant``. A signal *drifted* when its PSI is above
``psi_threshold`` (0.25 by default; the pipeline passes ``train_when_drift_above``),
or, for ``low_confidence``, when the share is above its limit. A signal with fewer
than ``min_instances`` observations, or without a training reference, is
``insufficient_data`` and never drifted: a quiet window is not drift.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from components.errors import DataError
from components.monitor.logs import ServedTally, read_logs, window_dates
from components.plots import plot_drift
from components.storage import ObjectStore, open_store

REPORT_JSON = "drift_report.json"
REPORT_PNG = "drift_report.png"
DECISION_JSON = "decision.json"
PSI_EPSILON = 1e-4
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
SIZE_CATEGORIES = 9
"""The training set's most common sizes that get a bin of their own; the rest is ``other``."""
OTHER_SIZE = "other"
MAX_WINDOW_DAYS = 366
INSUFFICIENT = "insufficient_data"


@dataclass
class Signal:
    """One drift signal: how it is measured, its score, and the two distributions."""

    name: str
    method: str
    score: float | None  # PSI, or the low-confidence share; None without data
    threshold: float
    status: str  # "none", "moderate", "significant" or "insufficient_data"
    drifted: bool
    observations: int  # served instances that carry this signal
    bins: list[str]
    training: list[float] | None  # shares per bin; None when there is no training reference
    served: list[float]  # shares per bin (empty without observations)


@dataclass
class DriftReport:
    """The monitor's verdict on one model version over a window (``drift_report.json``)."""

    model_name: str
    version: int
    log_uri: str
    window: dict[str, str]  # {"since", "until"}: dates, both included
    files: int
    corrupt_files: list[dict[str, str]]  # {"name", "reason"}
    records: int  # requests read
    bad_lines: int  # lines that are not a JSON request
    instances: int  # instance objects in those requests
    bad_instances: int  # instances that are not an object, or without a usable top-1 class
    min_instances: int
    sufficient_data: bool
    drifted: bool
    drift_score: float  # the largest PSI among the signals with enough data
    message: str
    signals: dict[str, Signal] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingDecision:
    """Whether the pipeline should train, and why (the monitor step's outputs)."""

    train: bool
    reason: str
    report: DriftReport | None = None


def monitor_drift(
    log_uri: str,
    model_base_uri: str,
    model_name: str,
    out_dir: str | Path,
    *,
    version: int | None = None,
    since: date | None = None,
    until: date | None = None,
    days: int = 7,
    psi_threshold: float = PSI_SIGNIFICANT,
    low_confidence_score: float = 0.5,
    max_low_confidence_share: float = 0.2,
    min_instances: int = 100,
) -> DriftReport:
    """Compare a published version's served requests with its training data.

    Args:
        log_uri: where the predictor writes its prediction logs (local, ``gs://``, ``s3://``).
        model_base_uri: where versions are published.
        model_name: the model, as published and as logged.
        out_dir: receives ``drift_report.json`` and ``drift_report.png``.
        version: the version to check; default the latest complete one.
        since: first date of the window (UTC date partitions, included).
        until: last date of the window (included); default today (UTC).
        days: the window's length when ``since`` is not given.
        psi_threshold: a PSI above it is drift.
        low_confidence_score: a top-1 score below it is a low-confidence prediction.
        max_low_confidence_share: a larger share of low-confidence predictions is drift.
        min_instances: fewer served instances (for a signal) is insufficient data.

    Raises:
        DataError: a parameter is out of range, the version is not published, or its
            metadata has no ``data_stats`` (published before drift monitoring).
        StorageError: a store cannot be listed or the metadata read.
    """
    _check_parameters(
        days, psi_threshold, low_confidence_score, max_low_confidence_share, min_instances
    )
    since, until = window(since, until, days)
    logs = open_store(log_uri)  # an unsupported URI fails here, before anything is read
    models = open_store(model_base_uri)
    version = _resolve_version(models, model_base_uri, model_name, version)
    reference = load_reference(models, model_name, version)
    edges = (reference.get("brightness") or {}).get("edges") or []
    tally = ServedTally(reference["classes"], edges, low_confidence_score)
    read_logs(logs, model_name, version, window_dates(since, until), tally)

    signals = [
        _class_signal(reference, tally, psi_threshold, min_instances),
        _size_signal(reference, tally, psi_threshold, min_instances),
        _brightness_signal(reference, tally, psi_threshold, min_instances),
        _low_confidence_signal(
            tally, low_confidence_score, max_low_confidence_share, min_instances
        ),
    ]
    psi_scores = [s.score for s in signals[:3] if s.status != INSUFFICIENT and s.score is not None]
    report = DriftReport(
        model_name=model_name,
        version=version,
        log_uri=log_uri,
        window={"since": since.isoformat(), "until": until.isoformat()},
        files=tally.files,
        corrupt_files=tally.corrupt_files,
        records=tally.records,
        bad_lines=tally.bad_lines,
        instances=tally.instances,
        bad_instances=tally.bad_instances,
        min_instances=min_instances,
        sufficient_data=tally.instances >= min_instances,
        drifted=any(s.drifted for s in signals),
        drift_score=max(psi_scores, default=0.0),
        message="",
        signals={s.name: s for s in signals},
    )
    report.message = _message(report)
    write_report(report, out_dir)
    print(f"monitor: {report.message}")
    return report


def training_decision(
    train_when_drift_above: float,
    log_uri: str,
    model_base_uri: str,
    model_name: str,
    out_dir: str | Path,
    *,
    days: int = 7,
    min_instances: int = 100,
    max_low_confidence_share: float = 0.2,
) -> TrainingDecision:
    """Whether to train: always when ``train_when_drift_above`` <= 0 (the monitor is off)
    or nothing is published yet; otherwise only when the latest published version's
    served requests drifted (any PSI above ``train_when_drift_above``, or too many
    low-confidence predictions). Writes ``decision.json`` (and the report) to ``out_dir``.

    Raises:
        DataError: the monitor is on without ``log_uri``, or as :func:`monitor_drift`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = None
    if train_when_drift_above <= 0:
        train, reason = True, "drift monitoring is off (train_when_drift_above <= 0): training"
    elif not log_uri:
        raise DataError(
            f"train_when_drift_above={train_when_drift_above} needs prediction_log_uri, "
            "the predictor's prediction log location"
        )
    elif not open_store(model_base_uri).versions(model_name):
        train, reason = True, f"no version of {model_name} is published yet: training"
    else:
        report = monitor_drift(
            log_uri,
            model_base_uri,
            model_name,
            out,
            days=days,
            psi_threshold=train_when_drift_above,
            min_instances=min_instances,
            max_low_confidence_share=max_low_confidence_share,
        )
        action = "training" if report.drifted else "not training"
        train, reason = report.drifted, f"{report.message}: {action}"
    (out / DECISION_JSON).write_text(json.dumps({"train": train, "reason": reason}, indent=1))
    print(f"monitor: {reason}")
    return TrainingDecision(train, reason, report)


def window(since: date | None, until: date | None, days: int) -> tuple[date, date]:
    """The window's first and last dates: ``until`` defaults to today (UTC), ``since``
    to ``days`` days ending at ``until``.

    Raises:
        DataError: the window is empty or longer than a year.
    """
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=days - 1)
    if since > until:
        raise DataError(f"the window starts ({since}) after it ends ({until})")
    if (until - since).days >= MAX_WINDOW_DAYS:
        raise DataError(f"the window {since} to {until} is longer than {MAX_WINDOW_DAYS} days")
    return since, until


def load_reference(store: ObjectStore, model_name: str, version: int) -> dict:
    """The version's ``data_stats`` from its ``metadata.json``.

    Raises:
        DataError: the metadata is not JSON or has no ``data_stats``.
    """
    where = f"{store.uri.rstrip('/')}/{model_name}/{version}/metadata.json"
    try:
        metadata = json.loads(store.read_bytes(f"{model_name}/{version}/metadata.json"))
    except ValueError as err:
        raise DataError(f"{where}: not JSON ({err})") from err
    stats = metadata.get("data_stats") if isinstance(metadata, dict) else None
    if not isinstance(stats, dict):
        raise DataError(
            f"{where} has no data_stats: version {version} was published before drift "
            "monitoring, so there is no training reference to compare with; publish a new "
            "version (run the pipeline once with train_when_drift_above=0) and monitor that"
        )
    _check_reference(stats, where)
    return stats


def _check_reference(stats: dict, where: str) -> None:
    """Raise a DataError naming ``where`` unless ``stats`` has the fields the signals read."""
    brightness = stats.get("brightness") or {"edges": [0, 1], "counts": [0]}
    checks = {
        "classes": isinstance(stats.get("classes"), list),
        "train_counts": isinstance(stats.get("train_counts"), dict),
        "image_sizes": isinstance(stats.get("image_sizes"), dict),
        "brightness": isinstance(brightness, dict)
        and isinstance(brightness.get("edges"), list)
        and isinstance(brightness.get("counts"), list)
        and len(brightness["edges"]) == len(brightness["counts"]) + 1,
    }
    for name, ok in checks.items():
        if not ok:
            raise DataError(f"{where}: data_stats.{name} is missing or malformed")


def psi(training: Sequence[float], served: Sequence[float]) -> float:
    """Population stability index of ``served`` against ``training`` (counts or shares
    per bin, the same bins); each share is floored at :data:`PSI_EPSILON`."""
    expected, actual = _shares(training), _shares(served)
    return sum(
        (a - e) * math.log(a / e)
        for e, a in zip(
            (max(x, PSI_EPSILON) for x in expected),
            (max(x, PSI_EPSILON) for x in actual),
            strict=True,
        )
    )


def psi_status(score: float) -> str:
    """``none`` below 0.1, ``moderate`` up to 0.25, ``significant`` above."""
    if score < PSI_MODERATE:
        return "none"
    return "moderate" if score <= PSI_SIGNIFICANT else "significant"


def write_report(report: DriftReport, out_dir: str | Path) -> None:
    """``drift_report.json`` and ``drift_report.png`` (one panel per signal) in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_JSON).write_text(json.dumps(asdict(report), indent=1))
    plot_drift(
        [asdict(s) for s in report.signals.values()],
        f"{report.model_name} version {report.version}, {report.window['since']} to "
        f"{report.window['until']}: {report.instances} instances",
        out / REPORT_PNG,
    )


def _check_parameters(
    days: int, psi_threshold: float, score: float, share: float, min_instances: int
) -> None:
    if min_instances < 1:
        raise DataError(f"min_instances={min_instances}: must be at least 1")
    if days < 1:
        raise DataError(f"days={days}: must be at least 1")
    if psi_threshold <= 0:
        raise DataError(f"psi_threshold={psi_threshold}: must be above 0")
    if not 0 < score <= 1:
        raise DataError(f"low_confidence_score={score}: must be in (0, 1]")
    if not 0 <= share <= 1:
        raise DataError(f"max_low_confidence_share={share}: must be in [0, 1]")


def _resolve_version(
    store: ObjectStore, model_base_uri: str, model_name: str, version: int | None
) -> int:
    published = store.versions(model_name)
    if version is None:
        if not published:
            raise DataError(f"no version of {model_name} is published in {model_base_uri}")
        return published[-1]
    if version not in published:
        listed = ", ".join(map(str, published)) or "none"
        raise DataError(
            f"version {version} of {model_name} is not published in {model_base_uri} "
            f"(complete versions: {listed})"
        )
    return version


def _class_signal(reference: dict, tally: ServedTally, threshold: float, minimum: int) -> Signal:
    classes = list(reference["classes"])
    bins = classes + sorted(set(tally.labels) - set(classes))  # labels the version never had
    counts = reference.get("train_counts") or {}
    return _psi_signal(
        "predicted_class",
        "PSI of the served top-1 predicted classes vs the train split's class counts",
        bins,
        [counts.get(c, 0) for c in bins],
        [tally.labels[c] for c in bins],
        threshold,
        minimum,
    )


def _size_signal(reference: dict, tally: ServedTally, threshold: float, minimum: int) -> Signal:
    sizes = reference.get("image_sizes") or {}
    common = sorted(sizes, key=lambda s: (-sizes[s], s))[:SIZE_CATEGORIES]
    bins = [*common, OTHER_SIZE]

    def binned(histogram: dict[str, int]) -> list[int]:
        counts = [histogram.get(s, 0) for s in common]
        return [*counts, sum(histogram.values()) - sum(counts)]

    return _psi_signal(
        "image_size",
        f"PSI over image sizes: the training set's {SIZE_CATEGORIES} most common WxH, "
        f"and '{OTHER_SIZE}' for every other size",
        bins,
        binned(sizes),
        binned(tally.sizes),
        threshold,
        minimum,
    )


def _brightness_signal(
    reference: dict, tally: ServedTally, threshold: float, minimum: int
) -> Signal:
    histogram = reference.get("brightness") or {"edges": [], "counts": []}
    edges = histogram["edges"]
    bins = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges, edges[1:], strict=False)]
    return _psi_signal(
        "brightness",
        "PSI over equal bins of mean luma (0.299 R + 0.587 G + 0.114 B) / 255 "
        "vs the train split's images",
        bins,
        list(histogram["counts"]),
        tally.brightness,
        threshold,
        minimum,
    )


def _psi_signal(
    name: str,
    method: str,
    bins: list[str],
    training: list[int],
    served: list[int],
    threshold: float,
    minimum: int,
) -> Signal:
    observations = sum(served)
    reference = _shares(training) if sum(training) else None
    if reference is None or not observations:
        score = None
        status = INSUFFICIENT
    else:
        score = psi(training, served)
        status = psi_status(score) if observations >= minimum else INSUFFICIENT
    return Signal(
        name=name,
        method=method,
        score=score,
        threshold=threshold,
        status=status,
        drifted=status != INSUFFICIENT and score is not None and score > threshold,
        observations=observations,
        bins=bins,
        training=reference,
        served=_shares(served) if observations else [],
    )


def _low_confidence_signal(
    tally: ServedTally, score_below: float, limit: float, minimum: int
) -> Signal:
    share = tally.low_confidence / tally.scored if tally.scored else None
    if share is None or tally.scored < minimum:
        status = INSUFFICIENT
    else:
        status = "significant" if share > limit else "none"
    return Signal(
        name="low_confidence",
        method=f"share of served instances whose top-1 score is below {score_below}, "
        f"vs a fixed limit of {limit}",
        score=share,
        threshold=limit,
        status=status,
        drifted=status == "significant",
        observations=tally.scored,
        bins=[f"top-1 < {score_below}", f"top-1 >= {score_below}"],
        training=None,
        served=[] if share is None else [share, 1 - share],
    )


def _shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0 for _ in counts]


def _message(report: DriftReport) -> str:
    where = (
        f"{report.instances} instances in {report.files} log files of {report.model_name} "
        f"version {report.version} from {report.window['since']} to {report.window['until']}"
    )
    if not report.sufficient_data:
        return f"insufficient data, not drift: {where} (at least {report.min_instances} needed)"
    drifted = [s for s in report.signals.values() if s.drifted]
    if drifted:
        found = ", ".join(f"{s.name} {s.score:.3f} > {s.threshold}" for s in drifted)
        return f"drift: {found} ({where})"
    return f"no drift: largest PSI {report.drift_score:.3f} ({where})"
