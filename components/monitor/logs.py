"""Reading the Go predictor's sampled prediction logs from an object store.

Layout (local directory, ``gs://`` or ``s3://``)::

    <log_uri>/<model>/<version>/date=YYYY-MM-DD/predictions-*.jsonl.gz

Each file is gzip-compressed JSON lines, one request per line::

    {"time": "2026-12-06T12:34:56.789012Z", "request_id": "...", "model": "faces",
     "version": 3, "endpoint": "classify-image", "latency_ms": 12.5,
     "instances": [{"top_k": [{"index": 4, "label": "alice", "score": 0.91}, ...],
                    "input": {"format": "jpeg", "width": 250, "height": 250,
                              "brightness": 0.43, "sha256": "...", "bytes": "..."}}]}

``top_k`` is best first (the reader takes the highest score all the same) and
empty for a model without a scores output; a ``label`` of ``""`` (no labels.txt
line) or none falls back to ``index``; a score may be null (NaN). ``input`` is
absent for models that do not take images; ``brightness`` may be null.
Only the date partitions in the window are listed. A file that cannot be read or
decompressed, a line that is not a JSON request and an instance without a usable
``top_k`` are skipped and counted, never fatal (an instance's image statistics
count even when its ``top_k`` is unusable or empty); lines read from a file before it
turned out corrupt (a truncated upload) are kept.

:func:`read_logs` does the listing, decompression and parsing once for every reader:
a :class:`LogTally` subclass says what to keep of each well-formed request
(:class:`ServedTally` for the drift monitor; the deploy step's shadow agreement check
keeps the instances of the requests answered within a time window).
"""

import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeGuard, TypeVar

from components.brightness import bin_index
from components.errors import StorageError
from components.progress import Progress
from components.storage import ObjectStore

LOG_FILE = re.compile(r"predictions-[^/]*\.jsonl\.gz")
Tally = TypeVar("Tally", bound="LogTally")


@dataclass(kw_only=True)
class LogTally:
    """What reading prediction logs found: the files, and the requests (lines) in them.

    :meth:`add_line` checks that a line is a request (a JSON object with an
    ``instances`` list), and hands each one to :meth:`add_record`, which subclasses
    implement. With ``since`` and/or ``until`` (timezone-aware) only the requests whose
    ``time`` lies within [since, until] are handed on; the others are counted in
    ``outside_window``, and a request without a readable ``time`` is a bad line.
    """

    since: datetime | None = None
    until: datetime | None = None
    files: int = 0
    corrupt_files: list[dict[str, str]] = field(default_factory=list)  # {"name", "reason"}
    records: int = 0  # requests handed to add_record
    bad_lines: int = 0
    outside_window: int = 0

    def add_line(self, line: bytes) -> None:
        """Count one log line (a request); a malformed one counts as a bad line."""
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except ValueError:  # not JSON, or not UTF-8
            self.bad_lines += 1
            return
        instances = record.get("instances") if isinstance(record, dict) else None
        if not isinstance(instances, list):
            self.bad_lines += 1
            return
        if self.since is not None or self.until is not None:
            at = record_time(record)
            if at is None:
                self.bad_lines += 1
                return
            if (self.since is not None and at < self.since) or (
                self.until is not None and at > self.until
            ):
                self.outside_window += 1
                return
        self.records += 1
        self.add_record(record, instances)

    def add_record(self, record: dict, instances: list) -> None:
        """Keep what is needed of one well-formed request (``instances`` is its list)."""
        raise NotImplementedError


@dataclass
class ServedTally(LogTally):
    """What the served requests in the window looked like, counted as they are read.

    Args:
        classes: the version's class names; an instance's top-1 ``index`` names its
            class when its ``label`` is missing.
        brightness_edges: the training histogram's bin edges, for ``brightness``.
        low_confidence_score: a top-1 score below this is a low-confidence prediction.
    """

    classes: list[str]
    brightness_edges: list[float]
    low_confidence_score: float
    instances: int = 0
    bad_instances: int = 0  # not an object, or a top_k without a usable best class
    scored: int = 0  # instances with a best class
    labels: Counter = field(default_factory=Counter)  # top-1 label -> instances
    sizes: Counter = field(default_factory=Counter)  # "WxH" -> instances with an image input
    brightness: list[int] = field(default_factory=list)  # instances per brightness bin
    low_confidence: int = 0  # instances whose top-1 score < low_confidence_score

    def __post_init__(self) -> None:
        self.brightness = [0] * max(len(self.brightness_edges) - 1, 0)

    def add_record(self, record: dict, instances: list) -> None:
        for instance in instances:
            if not self._add_instance(instance):
                self.bad_instances += 1

    def _add_instance(self, instance: object) -> bool:
        """Count one instance; False when it is malformed, or has a ``top_k`` without a
        usable best class. Its image statistics count either way."""
        if not isinstance(instance, dict):
            return False
        self.instances += 1
        image = instance.get("input")
        if isinstance(image, dict):
            width, height = image.get("width"), image.get("height")
            if is_int(width) and is_int(height):
                self.sizes[f"{width}x{height}"] += 1
            value = image.get("brightness")
            if self.brightness and is_number(value):
                self.brightness[bin_index(float(value), self.brightness_edges)] += 1
        top_k = instance.get("top_k")
        if not top_k:
            return True  # a model without a scores output: nothing to classify
        if (best := top1(top_k)) is None:
            return False
        label, index = best.get("label"), best.get("index")
        if not isinstance(label, str) or not label:  # "": no labels.txt line for it
            if not is_int(index) or not 0 <= index < len(self.classes):
                return False
            label = self.classes[index]
        self.scored += 1
        self.labels[label] += 1
        self.low_confidence += best["score"] < self.low_confidence_score
        return True


def read_logs(
    store: ObjectStore,
    model_name: str,
    version: int,
    dates: list[date],
    tally: Tally,
    what: str = "monitor: reading logs",
) -> Tally:
    """Add every prediction log of ``model_name`` ``version`` dated in ``dates`` to ``tally``
    (``what`` heads the progress lines).

    Raises:
        StorageError: the store cannot be listed (a missing bucket, refused credentials).
    """
    names = list_logs(store, model_name, version, dates)
    progress = Progress(what, len(names))
    for name in names:
        tally.files += 1
        try:
            for line in _lines(store.read_bytes(name)):
                tally.add_line(line)
        except StorageError as err:
            tally.corrupt_files.append({"name": name, "reason": f"unreadable: {err}"})
        except (OSError, EOFError, zlib.error) as err:
            tally.corrupt_files.append({"name": name, "reason": f"not a gzip file: {err}"})
        progress.advance()
    return tally


def list_logs(store: ObjectStore, model_name: str, version: int, dates: list[date]) -> list[str]:
    """Names of the prediction log files in the date partitions ``dates``, sorted."""
    names = []
    for day in dates:
        prefix = f"{model_name}/{version}/date={day.isoformat()}/"
        names += [n for n in store.list_files(prefix) if LOG_FILE.fullmatch(n.rsplit("/", 1)[-1])]
    return sorted(names)


def window_dates(since: date, until: date) -> list[date]:
    """Every date from ``since`` to ``until``, both included."""
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _lines(data: bytes) -> Iterator[bytes]:
    """The lines of a gzip file (all its members); raises where the data stops being gzip."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
        yield from f


def record_time(record: dict) -> datetime | None:
    """A request's ``time`` (when the model answered, UTC), or None if it has none."""
    value = record.get("time")
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def top1(top_k: object) -> dict | None:
    """The highest-scoring entry of an instance's ``top_k``, or None if it has none."""
    if not isinstance(top_k, list):
        return None
    entries = [e for e in top_k if isinstance(e, dict) and is_number(e.get("score"))]
    return max(entries, key=lambda e: e["score"]) if entries else None


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
