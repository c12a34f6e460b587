"""Two distinguishable models and a probe image: every answer must match one of them exactly.

Versions alternate between model A and model B, so an answer that equals
neither (a half-loaded or mixed version), or the other one than the version it
names (a stale or mislabelled one), would show.
"""

import base64
import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["cat", "dog"]
IMAGE_SIZE = 32


@dataclass(frozen=True)
class SoakModels:
    exports: dict[str, Path]  # "A"/"B" -> exported SavedModel directory
    expected: dict[str, list[float]]  # "A"/"B" -> probabilities for the probe image
    body: bytes  # TF Serving predict request with the probe image
    v2_body: bytes  # the same image as a KServe v2 infer request (its answers name a version)

    def which(self, answer_body: bytes, atol: float = 1e-5) -> str | None:
        """ "A" or "B" when the answer (TF Serving or v2) is exactly that model's, else None."""
        return self.which_probabilities(_probabilities(answer_body), atol)

    def which_probabilities(self, got: list[float] | None, atol: float = 1e-5) -> str | None:
        """ "A" or "B" when ``got`` is exactly that model's probabilities, else None."""
        for name, want in self.expected.items():
            if got is not None and np.allclose(got, want, atol=atol, rtol=0):
                return name
        return None


def answered_version(answer_body: bytes) -> int | None:
    """The model version a v2 infer answer names, or None."""
    try:
        return int(json.loads(answer_body)["model_version"])
    except (ValueError, KeyError, TypeError):
        return None


def _probabilities(answer_body: bytes) -> list[float] | None:
    try:
        reply = json.loads(answer_body)
        if "predictions" in reply:
            return reply["predictions"][0]["probabilities"]
        (output,) = [o for o in reply["outputs"] if o["name"] == "probabilities"]
        return output["data"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def build(workdir: Path) -> SoakModels:
    """Export models A and B (different seeds) with the project's export code."""
    import keras

    from components.export.savedmodel import export_savedmodel
    from components.imaging import decode_batch
    from components.train.model import build_classifier

    probe = _probe_png()
    exports, expected = {}, {}
    for name, seed in (("A", 1), ("B", 2)):
        keras.utils.set_random_seed(seed)
        model, _ = build_classifier("small_cnn", len(CLASSES), IMAGE_SIZE)
        out = export_savedmodel(model, CLASSES, IMAGE_SIZE, workdir / name, {"soak": name})
        exports[name] = out
        pixels = decode_batch(np.array([probe], dtype=object), IMAGE_SIZE)
        expected[name] = [float(p) for p in model.predict(pixels, verbose=0)[0]]
    b64 = base64.b64encode(probe).decode()
    body = json.dumps({"instances": [{"b64": b64}]}).encode()
    tensor = {"name": "image_bytes", "datatype": "BYTES", "shape": [1], "data": [b64]}
    v2_body = json.dumps({"inputs": [tensor], "outputs": [{"name": "probabilities"}]}).encode()
    return SoakModels(exports, expected, body, v2_body)


def corrupt_copy(export: Path, into: Path) -> Path:
    """A copy of ``export`` whose variables file is cut in half."""
    shutil.copytree(export, into)
    data = next((into / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return into


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="soak-"))


def _probe_png() -> bytes:
    yy, xx = np.mgrid[0:48, 0:48]
    pixels = np.stack([xx * 5, yy * 5, (xx + yy) * 2], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()
