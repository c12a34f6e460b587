"""Run the standard clients (tritonclient.http, kserve) against a running predictor.

The clients live in build/clients-venv (``make clients-venv``, which ``make test``
runs) because their ml-dtypes pin clashes with TensorFlow's; tests/clients/*.py
call the server exactly as a Triton or KServe user's code does and print what
the client returned as JSON.
"""

import json
import subprocess
from pathlib import Path

import pytest

from pipelines.predictor_process import PredictorClient

ROOT = Path(__file__).resolve().parent.parent
CLIENT_PYTHON = ROOT / "build" / "clients-venv" / "bin" / "python"


def run_client(predictor: PredictorClient, script: str, mode: str, images: list[Path]) -> dict:
    """Run ``tests/clients/<script>`` against ``predictor``; return its JSON report."""
    if not CLIENT_PYTHON.is_file():
        pytest.fail(f"{CLIENT_PYTHON} missing: run `make clients-venv`")
    host = predictor.url.removeprefix("http://")
    args = [str(CLIENT_PYTHON), str(ROOT / "tests" / "clients" / script)]
    args += [host, predictor.model_name, mode, *map(str, images)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_predictions(got: dict, expected: dict, names: list[str]) -> None:
    """The client's labels and probabilities equal Keras's (``expected.json``) within 1e-5."""
    assert got["labels"] == [expected[n]["label"] for n in names]
    for name, row in zip(names, got["probabilities"], strict=True):
        want = expected[name]["probabilities"]
        assert max(abs(g - w) for g, w in zip(row, want, strict=True)) <= 1e-5, name
