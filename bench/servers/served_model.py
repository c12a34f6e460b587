"""The model half of the Python baselines: what a competent Python server does once per process.

Loads the newest complete version under ``BENCH_MODEL_BASE_PATH`` once, keeps
its ``serving_default`` signature, and calls it on one string tensor per
request (no Keras, no per-request tracing). Requests and replies use TF
Serving's REST row format, exactly as the Go predictor's, so one load generator
and one request body drive every server.
"""

import base64
import binascii
import json
import os
from pathlib import Path

import tensorflow as tf

COMPLETE_MARKER = "_COMPLETE"


class BadRequest(ValueError):
    """The request body is not a TF Serving ``{"instances": [{"b64": ...}]}`` request."""


class ServedModel:
    """One SavedModel version and its serving signature."""

    def __init__(self, base_path: str, name: str):
        self.name = name
        self.version_dir = latest_version(Path(base_path))
        self._loaded = tf.saved_model.load(str(self.version_dir))  # keeps variables alive
        self._signature = self._loaded.signatures["serving_default"]

    @classmethod
    def from_env(cls) -> "ServedModel":
        """The model named by ``BENCH_MODEL_BASE_PATH`` / ``BENCH_MODEL_NAME``."""
        base = os.environ["BENCH_MODEL_BASE_PATH"]
        return cls(base, os.environ.get("BENCH_MODEL_NAME") or Path(base).name)

    def predict_json(self, body: bytes) -> bytes:
        """Answer a TF Serving REST predict body with its JSON reply."""
        return json.dumps({"predictions": self.predict(decode_instances(body))}).encode()

    def predict(self, images: list[bytes]) -> list[dict]:
        """Run the signature on encoded images; one dict per image."""
        out = self._signature(image_bytes=tf.constant(images))
        probabilities = out["probabilities"].numpy().tolist()
        class_ids = out["class_id"].numpy().tolist()
        labels = out["label"].numpy().tolist()
        return [
            {"probabilities": p, "class_id": c, "label": label.decode()}
            for p, c, label in zip(probabilities, class_ids, labels, strict=True)
        ]


def error_json(err: Exception) -> bytes:
    """The ``{"error": "..."}`` body every server of the project answers errors with."""
    return json.dumps({"error": str(err)}).encode()


def decode_instances(body: bytes) -> list[bytes]:
    """The image bytes of ``{"instances": [{"b64": ...}, ...]}``, or BadRequest."""
    try:
        instances = json.loads(body)["instances"]
        images = [base64.b64decode(i["b64"], validate=True) for i in instances]
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise BadRequest(f'want {{"instances": [{{"b64": "..."}}]}}: {err}') from err
    if not images:
        raise BadRequest("instances is empty")
    return images


def latest_version(base: Path) -> Path:
    """The highest numeric ``<base>/<N>/`` holding the completion marker."""
    versions = [
        int(p.name) for p in base.iterdir() if p.name.isdigit() and (p / COMPLETE_MARKER).exists()
    ]
    if not versions:
        raise FileNotFoundError(f"no complete version under {base}")
    return base / str(max(versions))
