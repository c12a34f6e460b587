"""The standard clients, tritonclient.http and kserve's InferenceRESTClient, against the predictor
(tests/standard_clients.py runs them)."""

from pathlib import Path

import pytest
from standard_clients import check_predictions, run_client


def _images(fixture_model: Path, names: list[str]) -> list[Path]:
    return [fixture_model / "images" / n for n in names]


@pytest.mark.parametrize("mode", ["binary", "json"])
def test_tritonclient_infer_equals_keras(fixture_predictor, fixture_model, fixture_expected, mode):
    names = sorted(fixture_expected)
    got = run_client(fixture_predictor, "triton_infer.py", mode, _images(fixture_model, names))

    assert (got["live"], got["ready"], got["model_ready"]) == (True, True, True)
    assert (got["id"], got["model_version"]) == ("client-1", "1")
    inputs = got["metadata"]["inputs"]
    assert [(i["name"], i["datatype"]) for i in inputs] == [("image_bytes", "BYTES")]
    check_predictions(got, fixture_expected, names)
    # Triton's classification extension: "score:index:label", best first.
    label_of = {e["class_id"]: e["label"] for e in fixture_expected.values()}
    for name, top in zip(names, got["top2"], strict=True):
        want = fixture_expected[name]["probabilities"]
        best = sorted(range(len(want)), key=lambda i: -want[i])[:2]
        parsed = [entry.split(":") for entry in top]
        assert [int(index) for _, index, _ in parsed] == best, (name, top)
        assert all(label == label_of.get(int(index), label) for _, index, label in parsed)
        assert abs(float(parsed[0][0]) - want[best[0]]) <= 1e-5


@pytest.mark.parametrize("mode", ["v2-binary", "v2-json", "v1"])
def test_kserve_client_infer_equals_keras(fixture_predictor, fixture_model, fixture_expected, mode):
    names = sorted(fixture_expected)
    got = run_client(fixture_predictor, "kserve_infer.py", mode, _images(fixture_model, names))
    if mode != "v1":
        assert got["model_ready"] is True
        assert got["id"] == "kserve-1"
    check_predictions(got, fixture_expected, names)
