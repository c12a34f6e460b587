"""The canary's checks on real predictors: two Go predictor processes (a stable one and a
canary made worse with the test-only ``--test-faults``) are scraped the way the deploy step
scrapes pods, and the figures it derives are compared with what the test itself sent and
got back. Then the checks' arithmetic on figures the test states, and bad settings on the
step's command line, which must fail before any cluster is asked anything."""

import base64
import json
import os
import subprocess
import sys

import pytest

from components.deploy.canary import judge
from components.deploy.params import CanaryParams
from components.deploy.podmetrics import Figures, ScrapeError, Snapshot, quantile, scrape, window
from pipelines.predictor_process import LocalPredictor, free_port

MODEL = "faces"
DELAY_S = 0.12
FAIL_EVERY = 4
SENT = 20


@pytest.fixture(scope="module")
def predictors(fixture_model, predictor_binary, tmp_path_factory):
    """``stable`` serves version 1; ``canary`` serves version 2 (the same model) with
    ``--test-faults``: each prediction 120 ms late, every 4th a 500."""
    base = tmp_path_factory.mktemp("models")
    for version in ("1", "2"):
        (base / version).symlink_to(fixture_model / "1")
    logs = tmp_path_factory.mktemp("logs")
    faults = f"--test-faults=version=2,delay={int(DELAY_S * 1000)}ms,fail-every={FAIL_EVERY}"
    started = {
        "stable": LocalPredictor(base, MODEL, binary=predictor_binary, log_path=logs / "stable",
                                 extra_args=("--model-version-policy=specific:1",)),
        "canary": LocalPredictor(base, MODEL, binary=predictor_binary, log_path=logs / "canary",
                                 extra_args=("--model-version-policy=specific:2", faults)),
    }  # fmt: skip
    try:
        for predictor in started.values():
            predictor.wait_ready()
        yield started
    finally:
        for predictor in started.values():
            predictor.stop()


def _send(predictor: LocalPredictor, image: bytes, n: int) -> list[int]:
    body = json.dumps({"instances": [{"b64": base64.b64encode(image).decode()}]}).encode()
    return [predictor.request("POST", f"/v1/models/{MODEL}:predict", body)[0] for _ in range(n)]


def _scrape(predictor: LocalPredictor) -> Snapshot:
    return scrape({"pod-0": "127.0.0.1"}, MODEL, port=predictor.port)


def test_figures_from_metrics_match_what_was_sent(predictors, fixture_model):
    image = (fixture_model / "images" / "image0.png").read_bytes()
    before = {name: _scrape(p) for name, p in predictors.items()}
    statuses = {name: _send(p, image, SENT) for name, p in predictors.items()}
    after = {name: _scrape(p) for name, p in predictors.items()}
    stable = window(before["stable"], after["stable"])
    canary = window(before["canary"], after["canary"])

    assert statuses["stable"] == [200] * SENT
    assert statuses["canary"].count(500) == SENT // FAIL_EVERY
    assert stable == Figures(SENT, 0, stable.p99_s)
    assert (canary.requests, canary.errors) == (SENT, statuses["canary"].count(500))
    assert canary.p99_s is not None and canary.p99_s >= 0.1  # the delay's bucket: (0.1, 0.25]
    failed = judge(canary, stable, CanaryParams(min_requests=SENT))
    assert any(f.startswith("canary 5xx rate 25.0% > 1.0%") for f in failed), failed


def test_a_pod_that_cannot_be_scraped_is_an_error_not_a_pass():
    with pytest.raises(ScrapeError, match="pod gone: cannot scrape http://127.0.0.1:"):
        scrape({"gone": "127.0.0.1"}, MODEL, port=free_port())


def test_a_pod_that_went_away_is_left_out_and_one_still_listed_is_an_error(
    predictors, fixture_model
):
    # Both "pods" use the stable predictor's port; only 127.0.0.1 listens on it.
    stable = predictors["stable"]
    pods = {"live": "127.0.0.1", "scaled-down": "127.0.0.2"}
    image = (fixture_model / "images" / "image0.png").read_bytes()
    before = scrape(pods, MODEL, stable.port, relist=lambda: {"live": "127.0.0.1"})
    _send(stable, image, 3)
    after = scrape(pods, MODEL, stable.port, relist=lambda: {"live": "127.0.0.1"})
    assert set(before.requests) == set(after.requests) == {"live"}
    assert window(before, after).requests == 3
    with pytest.raises(ScrapeError, match="pod scaled-down: cannot scrape http://127.0.0.2:"):
        scrape(pods, MODEL, stable.port, relist=lambda: pods)
    # Same name, new IP: it is not the pod that was listed, so it is left out too.
    moved = scrape(pods, MODEL, stable.port,
                   relist=lambda: {**pods, "scaled-down": "127.0.0.3"})  # fmt: skip
    assert set(moved.requests) == {"live"}


def test_a_restarted_pod_counts_from_zero():
    before = Snapshot({"a": {"200": 90.0}, "b": {"200": 10.0}}, {"a": {1.0: 90.0}})
    after = Snapshot({"a": {"200": 5.0, "500": 1.0}, "b": {"200": 30.0}}, {"a": {1.0: 6.0}})
    assert window(before, after) == Figures(26, 1, pytest.approx(0.99))


def test_quantile_interpolates_within_the_bucket():
    buckets = {0.1: 50.0, 0.25: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.99, buckets) == pytest.approx(0.1 + 0.15 * (99 - 50) / 50)
    assert quantile(0.99, {0.5: 0.0, float("inf"): 10.0}) == 0.5  # in +Inf: the last bound
    assert quantile(0.99, {0.5: 0.0, float("inf"): 0.0}) is None


@pytest.mark.parametrize(
    ("canary", "stable", "want"),
    [
        (Figures(100, 0, 0.020), Figures(400, 0, 0.018), []),
        (Figures(100, 2, 0.020), Figures(400, 4, 0.018), []),  # 2% <= 1% + 1%
        (Figures(100, 3, 0.020), Figures(400, 4, 0.018), ["canary 5xx rate 3.0% > 2.0%"]),
        (Figures(100, 0, 0.400), Figures(400, 0, 0.100), ["canary p99 400 ms > 200 ms"]),
        (Figures(5, 0, 0.020), Figures(400, 0, 0.018), ["canary answered 5 requests"]),
        (Figures(100, 0, 0.020), None, ["stable answered 0 requests"]),
    ],
)
def test_checks_compare_canary_with_stable_within_the_bounds(canary, stable, want):
    failed = judge(canary, stable, CanaryParams(min_requests=20))
    assert len(failed) == len(want) and all(
        f.startswith(w) for f, w in zip(failed, want, strict=True)
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "blue"], "strategy 'blue': must be one of rolling, canary, shadow"),
        (["--strategy", "canary", "--canary-steps", "50,25,100"],
         "canary steps 50,25,100: must be increasing"),
        (["--strategy", "canary", "--canary-steps", "5,150"],
         "canary steps 5,150: each must be in 1..100"),
        (["--strategy", "shadow"], "shadow needs the predictors' prediction log URI"),
    ],
)  # fmt: skip
def test_bad_settings_fail_before_the_cluster_is_asked(args, message, tmp_path):
    step = subprocess.run(
        [sys.executable, "-m", "components.deploy", "--model-base-uri", str(tmp_path),
         "--model-name", MODEL, "--version", "1", *args],
        env={**os.environ, "KUBECONFIG": str(tmp_path / "none")}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert step.returncode == 2, step.stdout + step.stderr
    assert step.stderr.startswith(f"error: {message}") and step.stderr.count("\n") == 1
