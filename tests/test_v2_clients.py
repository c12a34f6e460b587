"""The standard clients, tritonclient.http and kserve's InferenceRESTClient, against the predictor.

The clients live in build/clients-venv (``make clients-venv``, which
``make test`` runs) and run tests/clients/*.py, which call the
server exactly as a Triton or KServe user's code does.
"""

import json
import subprocess
from pathlib import Path

import pytest

from pipelines.predictor_process import LocalPredictor

ROOT = Path(__file__).resolve().parent.parent
CLIENT_PYTHON = ROOT / "build" / "clients-venv" / "bin" / "python"


def _client(predictor: LocalPredictor, script: str, mode: str, images: list[Path]) -> dict:
    if not CLIENT_PYTHON.is_file():
        pytest.fail(f"{CLIENT_PYTHON} missing: run `make clients-venv`")
    args = [str(CLIENT_PYTHON), str(ROOT / "tests" / "clients" / script)]
    args += [f"127.0.0.1:{predictor.port}", predictor.model_name, mode, *map(str, images)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _images(fixture_model: Path, names: list[str]) -> list[Path]:
    return [fixture_model / "images" / n for n in names]


def _check_predictions(got: dict, expected: dict, names: list[str]) -> None:
    assert got["labels"] == [expected[n]["label"] for n in names]
    for name, row in zip(names, got["probabilities"], strict=True):
        want = expected[name]["probabilities"]
        assert max(abs(g - w) for g, w in zip(row, want, strict=True)) <= 1e-5, name


@pytest.mark.parametrize("mode", ["binary", "json"])
def test_tritonclient_infer_equals_keras(fixture_predictor, fixture_model, fixture_expected, mode):
    names = sorted(fixture_expected)
    got = _client(fixture_predictor, "triton_infer.py", mode, _images(fixture_model, names))

    assert (got["live"], got["ready"], got["model_ready"]) == (True, True, True)
    assert (got["id"], got["model_version"]) == ("client-1", "1")
    inputs = got["metadata"]["inputs"]
    assert [(i["name"], i["datatype"]) for i in inputs] == [("image_bytes", "BYTES")]
    _check_predictions(got, fixture_expected, names)
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
    got = _client(fixture_predictor, "kserve_infer.py", mode, _images(fixture_model, names))
    if mode != "v1":
        assert got["model_ready"] is True
        assert got["id"] == "kserve-1"
    _check_predictions(got, fixture_expected, names)
