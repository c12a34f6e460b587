"""Shadow deployment: does a new model version answer live traffic as the stable one does?

While a new version (the shadow) is tried out, the gateway mirrors live requests to it and
discards its answers; the stable version's predictors and the shadow's log their
predictions to the same prediction-log URI (README "Prediction logging"), with the input
hashes (``--prediction-log-inputs hash`` or ``bytes``). A mirrored request carries the
same bytes, so the same image has the same ``sha256`` in both versions' logs:

* :func:`compare_versions` reads both versions' requests answered within a time window
  (the monitor's reader, :mod:`components.monitor.logs`), pairs each shadow instance with
  a stable instance of the same image, and measures how often their top-1 classes agree
  and how far their probabilities for the same class lie apart;
* :func:`check_agreement` is the deploy step's gate on those figures.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from components.errors import DataError
from components.monitor.logs import (
    LogTally,
    is_int,
    is_number,
    read_logs,
    top1,
    window_dates,
)
from components.storage import open_store

HASH_FLAGS = "--prediction-log-inputs hash (or bytes)"


@dataclass(frozen=True)
class Agreement:
    """How the shadow version's logged answers compare with the stable version's.

    ``pairs`` counts shadow instances paired with a stable instance of the same image
    (input sha256). ``top1_agreement`` is the share of pairs whose top-1 class index is
    the same; the probability deltas are ``|score_stable - score_shadow|`` over every
    class present in both ``top_k`` lists of a pair (all pairs' classes pooled for the
    mean). Each figure is None when there is nothing to compute it from. Every field is
    JSON-serializable as ``dataclasses.asdict`` gives it (the window is ISO 8601, UTC).
    """

    model_name: str
    stable: int  # version numbers
    shadow: int
    since: str  # the window, ISO 8601 UTC
    until: str | None  # None: up to when the logs were read
    pairs: int
    stable_records: int  # requests read in the window
    shadow_records: int
    stable_instances: int  # instances (images) in those requests
    shadow_instances: int
    unhashed: int  # instances without an input sha256 (both sides): ignored
    unscored: int  # hashed instances without a usable top_k (both sides): ignored
    top1_agreement: float | None
    max_probability_delta: float | None
    mean_probability_delta: float | None
    bad_lines: int = 0  # lines that are not a request, or have no readable time
    corrupt_files: tuple[str, ...] = ()  # "<name>: <reason>"
    hashless_versions: tuple[int, ...] = ()  # logged instances, none hashed

    def summary(self) -> str:
        """One line: the figures, what they were computed from, and what was ignored."""
        head = f"{self.model_name} shadow v{self.shadow} vs stable v{self.stable}"
        read = (
            f"stable {self.stable_records} requests/{self.stable_instances} images, "
            f"shadow {self.shadow_records} requests/{self.shadow_instances} images"
        )
        if self.pairs and self.top1_agreement is not None:
            figures = (
                f"{self.pairs} paired images, top-1 agreement {self.top1_agreement:.1%}, "
                f"probability delta max {_fmt(self.max_probability_delta)} "
                f"mean {_fmt(self.mean_probability_delta)}"
            )
        else:
            figures = "no paired images"
        notes = []
        if self.hashless_versions:
            notes.append(hashless_message(self.hashless_versions))
        elif self.unhashed:
            notes.append(f"{self.unhashed} images without an input hash ignored")
        if self.unscored:
            notes.append(f"{self.unscored} images without usable scores ignored")
        if self.bad_lines:
            notes.append(f"{self.bad_lines} bad lines skipped")
        if self.corrupt_files:
            notes.append(f"{len(self.corrupt_files)} unreadable log files skipped")
        return f"{head}: {figures} ({read})" + "".join(f"; {n}" for n in notes)


def hashless_message(versions: tuple[int, ...]) -> str:
    """Why no image can be paired when a version's logged instances carry no hash."""
    which = " and ".join(f"v{v}" for v in versions)
    return (
        f"the prediction logs of {which} carry no input hashes, so no image can be paired: "
        f"run the predictors with {HASH_FLAGS}"
    )


def compare_versions(
    log_uri: str,
    model_name: str,
    stable: int,
    shadow: int,
    since: datetime,
    until: datetime | None = None,
) -> Agreement:
    """Compare the answers ``shadow`` and ``stable`` gave to the same images.

    Reads both versions' prediction logs under ``log_uri`` (local directory, ``gs://``,
    ``s3://``), keeps the requests whose ``time`` lies within [since, until] (``until``
    None: up to now; naive datetimes are UTC), and pairs each shadow instance with a
    stable instance of the same input sha256 (when an image was answered several times
    by the stable version, any of its answers: the same model gives the same answer for
    the same bytes). Instances without a hash, and unreadable files and lines, are
    skipped and counted.

    Raises:
        DataError: ``since`` is after ``until``, or the two versions are the same.
        StorageError: the store cannot be listed.
    """
    since = _utc(since)
    until = _utc(until) if until is not None else None
    if until is not None and since > until:
        raise DataError(
            f"shadow agreement: since {since.isoformat()} is after until {until.isoformat()}"
        )
    if stable == shadow:
        raise DataError(f"shadow agreement: stable and shadow are both version {stable}")
    store = open_store(log_uri)  # an unsupported URI fails here, before anything is read
    dates = window_dates(since.date(), (until or datetime.now(UTC)).date())
    sides = {}
    for version in (stable, shadow):
        what = f"deploy: reading v{version} prediction logs"
        sides[version] = read_logs(
            store, model_name, version, dates, _Answers(since=since, until=until), what
        )
    stable_side, shadow_side = sides[stable], sides[shadow]

    by_hash: dict[str, tuple[int, dict[int, float]]] = {}
    for sha, answer in stable_side.answers:
        by_hash.setdefault(sha, answer)  # any one of an image's answers: they are the same
    pairs = agreeing = deltas = 0
    delta_sum, delta_max = 0.0, 0.0
    for sha, (best, scores) in shadow_side.answers:
        match = by_hash.get(sha)
        if match is None:
            continue
        pairs += 1
        agreeing += best == match[0]
        for index in scores.keys() & match[1].keys():
            delta = abs(match[1][index] - scores[index])
            delta_sum += delta
            delta_max = max(delta_max, delta)
            deltas += 1

    sides_list = (stable_side, shadow_side)
    return Agreement(
        model_name=model_name,
        stable=stable,
        shadow=shadow,
        since=since.isoformat(),
        until=until.isoformat() if until is not None else None,
        pairs=pairs,
        stable_records=stable_side.records,
        shadow_records=shadow_side.records,
        stable_instances=stable_side.instances,
        shadow_instances=shadow_side.instances,
        unhashed=sum(s.unhashed for s in sides_list),
        unscored=sum(s.unscored for s in sides_list),
        top1_agreement=agreeing / pairs if pairs else None,
        max_probability_delta=delta_max if deltas else None,
        mean_probability_delta=delta_sum / deltas if deltas else None,
        bad_lines=sum(s.bad_lines for s in sides_list),
        corrupt_files=tuple(
            f"{c['name']}: {c['reason']}" for s in sides_list for c in s.corrupt_files
        ),
        hashless_versions=tuple(
            v for v, s in sides.items() if s.instances and s.unhashed == s.instances
        ),
    )


def check_agreement(
    agreement: Agreement, min_top1: float, max_delta: float, min_pairs: int
) -> list[str]:
    """The failed checks of a shadow comparison, each naming its figure and bound; empty
    when the shadow may be promoted.

    Fails when fewer than ``min_pairs`` images were paired (too little mirrored traffic
    is never a pass), when the top-1 agreement is below ``min_top1``, and when the
    largest probability delta is above ``max_delta`` (or cannot be computed).

    Raises:
        DataError: a version's logged instances all lack an input hash (the predictors
            log without ``--prediction-log-inputs hash`` or ``bytes``), or a bound is
            out of range.
    """
    if not 0 <= min_top1 <= 1:
        raise DataError(f"shadow agreement: min_top1 must be within [0, 1], got {min_top1}")
    if not max_delta >= 0:
        raise DataError(f"shadow agreement: max_delta must be at least 0, got {max_delta}")
    if min_pairs < 1:
        raise DataError(f"shadow agreement: min_pairs must be at least 1, got {min_pairs}")
    if agreement.hashless_versions:
        raise DataError(f"shadow agreement: {hashless_message(agreement.hashless_versions)}")
    failures = []
    if agreement.pairs < min_pairs:
        failures.append(
            f"not enough mirrored traffic: {agreement.pairs} images paired between shadow "
            f"v{agreement.shadow} ({agreement.shadow_instances} images logged) and stable "
            f"v{agreement.stable} ({agreement.stable_instances} images logged), "
            f"at least {min_pairs} needed"
        )
    if agreement.pairs and agreement.top1_agreement is not None:
        if agreement.top1_agreement < min_top1:
            failures.append(
                f"top-1 agreement {agreement.top1_agreement:.2%} over {agreement.pairs} "
                f"pairs is below the minimum {min_top1:.2%}"
            )
        delta = agreement.max_probability_delta
        if delta is None:
            failures.append(
                "probability delta unknown: no class is in both top_k lists of any pair "
                f"(bound {max_delta:g})"
            )
        elif delta > max_delta:
            failures.append(
                f"largest probability delta {delta:.6g} is above the bound {max_delta:g} "
                f"(mean {_fmt(agreement.mean_probability_delta)})"
            )
    return failures


@dataclass(kw_only=True)
class _Answers(LogTally):
    """One version's answers in the window: (sha256, (top-1 index, {index: score})) per
    hashed, scored instance, in log order."""

    answers: list[tuple[str, tuple[int, dict[int, float]]]] = field(default_factory=list)
    instances: int = 0
    unhashed: int = 0
    unscored: int = 0

    def add_record(self, record: dict, instances: list) -> None:
        for instance in instances:
            if not isinstance(instance, dict):
                continue  # not an instance: not counted
            self.instances += 1
            image = instance.get("input")
            sha = image.get("sha256") if isinstance(image, dict) else None
            if not isinstance(sha, str) or not sha:
                self.unhashed += 1
                continue
            top_k = instance.get("top_k")
            best = top1(top_k)
            if best is None or not is_int(best.get("index")) or not isinstance(top_k, list):
                self.unscored += 1
                continue
            scores = {
                e["index"]: float(e["score"])
                for e in top_k
                if isinstance(e, dict) and is_int(e.get("index")) and is_number(e.get("score"))
            }
            self.answers.append((sha, (best["index"], scores)))


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"
