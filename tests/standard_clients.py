"""Run the standard clients (tritonclient.http and .grpc, kserve, tensorflow-serving-api's
stubs) against a running predictor, and ask its gRPC health as grpc-health-probe does.

The Triton and KServe clients live in build/clients-venv (``make clients-venv``, which
``make test`` runs) because their ml-dtypes pin clashes with TensorFlow's; the TF Serving
stubs import TensorFlow's protos, so they run in .venv. tests/clients/*.py call the server
exactly as a Triton, KServe or TF Serving user's code does and print what the client
returned as JSON.
"""

import json
import subprocess
from pathlib import Path

import grpc
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


def run_grpc_client(
    python: str | Path, script: str, target: str, model: str, mode: str, images: list[Path]
) -> dict:
    """Run ``tests/clients/<script>`` (a gRPC client) with ``python`` against ``target``
    (``host:port``); return its JSON report."""
    if not Path(python).is_file():
        pytest.fail(f"{python} missing: run `make clients-venv`")
    args = [str(python), str(ROOT / "tests" / "clients" / script), target, model, mode]
    proc = subprocess.run([*args, *map(str, images)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def grpc_health(target: str, timeout_s: float = 5) -> str:
    """grpc.health.v1 Check of the server as a whole (service ""), as grpc-health-probe and
    the kubelet's gRPC probe ask it: "SERVING" or "NOT_SERVING". Without the health
    package's stubs: grpcio-health-checking 1.85 needs protobuf 7, which kfp 2.17 refuses
    (protobuf < 7), so it is not in .venv. The request (service "") is empty and the answer
    is one varint field."""
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda _: b"",
            response_deserializer=lambda b: {
                b"\x08\x01": "SERVING",
                b"\x08\x02": "NOT_SERVING",
            }.get(b, b.hex()),
        )
        return check(None, timeout=timeout_s)


def check_predictions(got: dict, expected: dict, names: list[str]) -> None:
    """The client's labels and probabilities equal Keras's (``expected.json``) within 1e-5."""
    assert got["labels"] == [expected[n]["label"] for n in names]
    for name, row in zip(names, got["probabilities"], strict=True):
        want = expected[name]["probabilities"]
        assert max(abs(g - w) for g, w in zip(row, want, strict=True)) <= 1e-5, name
