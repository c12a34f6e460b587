"""Error rate and p99 latency of a set of predictor pods over a window, from their /metrics.

No Prometheus server: the deploy step scrapes each pod's ``/metrics`` at the start and at
the end of a window and subtracts, with the Prometheus client's own text parser. Counters
are summed over the pods; a pod that restarted in the window (its counters went down)
counts from zero, as Prometheus' ``increase()`` does. The latency quantile is
interpolated within the histogram's buckets, as ``histogram_quantile()`` does.

A pod that cannot be scraped raises :class:`ScrapeError`: the caller counts that as a
failed check, never as a pass. The one exception is a pod that is gone when it is listed
again (the autoscaler removed it, a rollout replaced it): it is left out, as Prometheus
drops a target that no longer exists.
"""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "predictor_requests_total"
DURATION = "predictor_request_duration_seconds"
SCRAPE_TIMEOUT_S = 5


class ScrapeError(Exception):
    """A pod's /metrics did not answer, or answered something that does not parse."""


@dataclass
class Snapshot:
    """One model's counters on a set of pods at one moment, keyed by pod."""

    requests: dict[str, dict[str, float]] = field(default_factory=dict)  # pod -> code -> count
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)  # pod -> le -> count


@dataclass(frozen=True)
class Figures:
    """What a set of pods answered over a window."""

    requests: int
    errors: int  # answers with a 5xx status
    p99_s: float | None  # None: no request in the window

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        p99 = "n/a" if self.p99_s is None else f"{self.p99_s * 1000:.0f} ms"
        return f"{self.requests} requests, {self.error_rate:.1%} 5xx, p99 {p99}"


def scrape(pods: Mapping[str, str], model: str, port: int = 8501,
           relist: Callable[[], Mapping[str, str]] | None = None) -> Snapshot:  # fmt: skip
    """Read ``model``'s request counters and latency histogram from each pod (name -> IP).

    ``relist`` lists the pods again; a pod that does not answer and is no longer there
    with the same IP is left out of the snapshot.

    Raises:
        ScrapeError: a pod that is still there did not answer, or an answer does not parse.
    """
    snapshot = Snapshot()
    for pod, ip in pods.items():
        try:
            text = _get(f"http://{ip}:{port}/metrics", pod)
        except ScrapeError:
            if relist is None or relist().get(pod) == ip:
                raise
            print(f"deploy: pod {pod} went away while it was scraped; its counts are left out")
            continue
        try:
            requests, buckets = _parse(text, model)
        except ValueError as err:
            raise ScrapeError(f"pod {pod}: /metrics does not parse: {err}") from err
        snapshot.requests[pod], snapshot.buckets[pod] = requests, buckets
    return snapshot


def window(before: Snapshot, after: Snapshot) -> Figures:
    """The requests, 5xx answers and p99 latency between two snapshots of the same pods."""
    codes: dict[str, float] = defaultdict(float)
    for pod, counts in after.requests.items():
        for code, n in counts.items():
            codes[code] += _increase(before.requests.get(pod, {}).get(code, 0.0), n)
    buckets: dict[float, float] = defaultdict(float)
    for pod, cumulative in after.buckets.items():
        for le, n in cumulative.items():
            buckets[le] += _increase(before.buckets.get(pod, {}).get(le, 0.0), n)
    total = round(sum(codes.values()))
    errors = round(sum(n for code, n in codes.items() if code.startswith("5")))
    return Figures(total, errors, quantile(0.99, buckets))


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The ``q`` quantile of a cumulative histogram (upper bound -> count), interpolated
    linearly within its bucket; the highest finite bound when it falls in +Inf."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def _increase(before: float, after: float) -> float:
    return after if after < before else after - before  # a restart resets counters


def _parse(text: str, model: str) -> tuple[dict[str, float], dict[float, float]]:
    requests: dict[str, float] = defaultdict(float)
    buckets: dict[float, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("model") != model:
                continue
            if sample.name == REQUESTS:
                requests[sample.labels["code"]] += sample.value
            elif sample.name == DURATION + "_bucket":
                buckets[float(sample.labels["le"])] += sample.value
    return dict(requests), dict(buckets)


def _get(url: str, pod: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError) as err:
        raise ScrapeError(f"pod {pod}: cannot scrape {url}: {err}") from err


def pods_by_name(pods: Iterable) -> dict[str, str]:
    """Running, not terminating pods (V1Pod) with an IP, name -> IP."""
    return {
        p.metadata.name: p.status.pod_ip
        for p in pods
        if p.status and p.status.pod_ip and p.status.phase == "Running"
        and not p.metadata.deletion_timestamp
    }  # fmt: skip


def metrics_port(deployment, container: str, default: int = 8501) -> int:
    """The container's port named ``http`` (where /metrics is served), else ``default``."""
    for c in deployment.spec.template.spec.containers:
        if c.name == container:
            for port in c.ports or []:
                if port.name == "http":
                    return port.container_port
    return default
