"""The short soak (``python -m bench.soak --short``): every scenario's promises hold.

The long run is ``make soak``; its latest summary is in the README.
"""

import pytest

from bench.soak.__main__ import markdown, run

RSS_GROWTH_BOUND_MB = 150  # stated bound for RSS growth over a run


@pytest.fixture(scope="module")
def figures(predictor_binary, tmp_path_factory):
    return {f["scenario"]: f for f in run(short=True, workdir=tmp_path_factory.mktemp("soak"))}


def test_no_request_fails_in_any_scenario(figures):
    assert len(figures) == 10
    for name, f in figures.items():
        assert f["requests_sent"] > 0, name
        assert f["requests_failed"] == 0, (name, f["notes"])


def test_every_fault_is_survived(figures):
    for name, f in figures.items():
        assert f["faults_survived"] == f["faults_injected"], (name, f["notes"])


def test_versions_swap_under_load_without_memory_growth(figures):
    f = figures["new versions while serving"]
    assert f["notes"]["models_seen_in_answers"] == ["A", "B"]
    assert f["rss_end_mb"] - f["rss_start_mb"] < RSS_GROWTH_BOUND_MB


def test_bad_versions_are_reported_while_the_good_one_serves(figures):
    f = figures["corrupt, partial and empty versions"]
    assert f["notes"]["status"]["1"]["state"] == "AVAILABLE"
    assert f["notes"]["corrupt_version_reported"]


def test_prediction_logs_survive_a_store_outage(figures):
    for outage in ("gs:// store goes away", "s3:// store hangs"):
        notes = figures[f"prediction log {outage}"]["notes"]
        assert notes["records_stored"] == notes["requests_answered"] > 0, outage


def test_overload_sheds_with_retry_after(figures):
    notes = figures["overload"]["notes"]
    assert notes["shed"] > 0 and notes["accepted"] > 0


def test_hostile_inputs_all_get_4xx(figures):
    f = figures["hostile inputs"]
    assert f["bad_inputs_4xx"] + f["notes"]["mutations_still_valid"] == f["bad_inputs_tried"]
    assert f["notes"]["server_alive"]


def test_hostile_grpc_inputs_all_get_client_errors(figures):
    f = figures["hostile gRPC inputs"]
    assert f["notes"]["catalogue"] > 40
    assert f["bad_inputs_4xx"] + f["notes"]["mutations_still_valid"] == f["bad_inputs_tried"]
    assert not {"Unknown", "Internal", "Unavailable"} & f["notes"]["codes"].keys(), f["notes"]
    assert f["notes"]["valid_after_answered"] == 2 and f["notes"]["server_alive"]


def test_summary_table_lists_every_scenario(figures):
    table = markdown(list(figures.values()))
    assert all(name in table for name in figures)
