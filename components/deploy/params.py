"""The deploy step's strategies and their settings, checked before anything changes."""

from __future__ import annotations

from dataclasses import dataclass, fields

from components.deploy.route import MIRRORS
from components.errors import StepError

STRATEGIES = ("rolling", "canary", "shadow")


@dataclass(frozen=True)
class CanaryParams:
    """How a canary moves and what it must show at each step.

    At each step the canary's 5xx rate and p99 latency over the step's wait are compared
    with the stable Deployment's over the same window. It passes when it answered at least
    ``min_requests``, its 5xx rate is at most the stable's plus
    ``max_error_rate_increase``, and its p99 is at most the stable's times
    ``max_p99_ratio`` plus ``p99_margin_ms``.
    """

    steps: tuple[int, ...] = (5, 25, 50, 100)  # percent of requests to the canary
    step_wait_s: float = 60
    min_requests: int = 20
    max_error_rate_increase: float = 0.01
    max_p99_ratio: float = 1.5
    p99_margin_ms: float = 50
    replicas: int = 1

    def __post_init__(self) -> None:
        steps = self.steps
        if not steps or any(not 0 < w <= 100 for w in steps):
            raise StepError(f"canary steps {_csv(steps)}: each must be in 1..100")
        if any(a >= b for a, b in zip(steps, steps[1:], strict=False)):
            raise StepError(f"canary steps {_csv(steps)}: must be increasing")
        _positive("canary step wait (s)", self.step_wait_s)
        _positive("canary min requests", self.min_requests)
        _positive("canary replicas", self.replicas)
        _positive("canary max p99 ratio", self.max_p99_ratio)
        if not 0 <= self.max_error_rate_increase <= 1:
            raise StepError(
                f"canary max error rate increase {self.max_error_rate_increase}: must be in 0..1"
            )
        if self.p99_margin_ms < 0:
            raise StepError(f"canary p99 margin {self.p99_margin_ms} ms: must be >= 0")


@dataclass(frozen=True)
class ShadowParams:
    """What the shadow receives and how closely it must agree with stable.

    ``percent`` of live requests are mirrored to the new version for ``duration_s``; its
    answers are discarded. Both versions' prediction logs (``prediction_log_uri``, written
    with input hashes) pair the same images; promotion needs at least ``min_pairs`` pairs,
    a top-1 agreement of ``min_agreement`` and no probability further apart than
    ``max_delta``.
    """

    prediction_log_uri: str
    percent: int = 100
    duration_s: float = 300
    min_agreement: float = 0.95
    max_delta: float = 0.1
    min_pairs: int = 20
    mirror: str = "gateway-api"
    log_flush_s: float = 70  # the predictor's --prediction-log-flush-interval (60 s) + slack
    replicas: int = 1

    def __post_init__(self) -> None:
        if not self.prediction_log_uri:
            raise StepError(
                "shadow needs the predictors' prediction log URI (their "
                "--prediction-log-uri, with --prediction-log-inputs hash or bytes)"
            )
        if not 0 < self.percent <= 100:
            raise StepError(f"shadow percent {self.percent}: must be in 1..100")
        if self.mirror not in MIRRORS:
            raise StepError(f"mirror {self.mirror!r}: must be one of {', '.join(MIRRORS)}")
        if not 0 <= self.min_agreement <= 1:
            raise StepError(f"shadow min agreement {self.min_agreement}: must be in 0..1")
        _positive("shadow duration (s)", self.duration_s)
        _positive("shadow max delta", self.max_delta)
        _positive("shadow min pairs", self.min_pairs)
        _positive("shadow replicas", self.replicas)
        if self.log_flush_s < 0:
            raise StepError(f"shadow log flush wait {self.log_flush_s} s: must be >= 0")


def strategy_params(strategy: str, values: dict) -> tuple[CanaryParams | None, ShadowParams | None]:
    """The settings of ``strategy`` from flat names, as the CLI and the pipeline give them:
    ``canary_steps`` ("5,25,50,100"), ``canary_<field>``, ``shadow_<field>`` and
    ``prediction_log_uri``; the other strategy's are ignored."""
    check_strategy(strategy)
    if strategy == "canary":
        settings = _prefixed(values, "canary_", CanaryParams)
        return CanaryParams(steps=parse_steps(str(settings.pop("steps"))), **settings), None
    if strategy == "shadow":
        settings = _prefixed(values, "shadow_", ShadowParams)
        return None, ShadowParams(prediction_log_uri=values["prediction_log_uri"], **settings)
    return None, None


def _prefixed(values: dict, prefix: str, params: type) -> dict:
    """``values``' entries named ``<prefix><field of params>``, keyed by field."""
    names = {f.name for f in fields(params)}
    return {k.removeprefix(prefix): v for k, v in values.items()
            if k.startswith(prefix) and k.removeprefix(prefix) in names}  # fmt: skip


def parse_steps(text: str) -> tuple[int, ...]:
    """``"5,25,50,100"`` -> ``(5, 25, 50, 100)``; checked by :class:`CanaryParams`."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise StepError(f"canary steps {text!r}: expected percents like 5,25,50,100") from None


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise StepError(f"strategy {strategy!r}: must be one of {', '.join(STRATEGIES)}")


def _positive(what: str, value: float) -> None:
    if not value > 0:
        raise StepError(f"{what} {value}: must be > 0")


def _csv(steps: tuple[int, ...]) -> str:
    return ",".join(str(w) for w in steps)
