"""The SavedModels and request bodies ``make bench`` serves, built once and cached.

- ``small``: the demo's compact CNN at 64 px, where serving overhead dominates;
- ``resnet50``: ResNet50 at 224 px with random weights (speed does not depend
  on the weights), where compute dominates.

Each is exported and published with the project's own code
(``export_savedmodel`` + ``publish_version``) under
``build/bench/models/<name>/<N>/``. The request image is a real photo
(scikit-image's astronaut) resized to the model's input size and JPEG-encoded,
as a client that knows the model's size would send it, in two bodies: TF
Serving's REST ``{"instances": [{"b64": ...}]}`` and the Open Inference
Protocol v2 ``{"inputs": [{"name": "image_bytes", "datatype": "BYTES", ...}]}``
(base64 in JSON), which the predictor and KServe's ModelServer both read.
"""

import base64
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

CLASSES = ["face", "nonface"]
SPECS = {"small": ("small_cnn", 64), "resnet50": ("resnet50", 224)}


@dataclass(frozen=True)
class BenchModel:
    """A published bench model and the files that drive it."""

    name: str
    backbone: str
    image_size: int
    base_path: Path  # <root>/<name>, holding <N>/
    version_dir: Path
    image: Path  # the encoded JPEG
    body: Path  # TF Serving REST predict body with one instance
    body_v2: Path  # Open Inference Protocol v2 infer body: the same image, one BYTES element


def ensure_model(name: str, root: Path) -> BenchModel:
    """Export and publish ``name`` under ``root`` unless a complete version is there."""
    backbone, size = SPECS[name]
    base = root / name
    from components.storage import list_versions

    versions = list_versions(str(root), name)
    if not versions:
        _publish(backbone, size, base)
        versions = [1]
    image, body = root / f"{name}.jpg", root / f"{name}-body.json"
    body_v2 = root / f"{name}-v2-body.json"
    if not body.exists():
        image.write_bytes(_photo(size))
        b64 = base64.b64encode(image.read_bytes()).decode()
        body.write_text(json.dumps({"instances": [{"b64": b64}]}))
    if not body_v2.exists():
        b64 = base64.b64encode(image.read_bytes()).decode()
        body_v2.write_text(json.dumps({"inputs": [v2_input(b64)]}))
    version = base / str(versions[-1])
    return BenchModel(name, backbone, size, base, version, image, body, body_v2)


def v2_input(b64: str) -> dict:
    """The v2 ``image_bytes`` input of one image: base64 in JSON, as both v2 servers read it."""
    return {
        "name": "image_bytes",
        "shape": [1],
        "datatype": "BYTES",
        "parameters": {"content_type": "base64"},
        "data": [b64],
    }


def _publish(backbone: str, size: int, base: Path) -> None:
    import keras

    from components.export.savedmodel import export_savedmodel
    from components.storage import publish_version
    from components.train.model import build_classifier

    keras.utils.set_random_seed(0)
    model, _ = build_classifier(backbone, len(CLASSES), size, weights="none")
    meta = {"bench": True, "backbone": backbone, "image_size": size}
    with tempfile.TemporaryDirectory() as tmp:
        out = export_savedmodel(model, CLASSES, size, Path(tmp) / "export", meta)
        publish_version(out, str(base.parent), base.name)


def _photo(size: int) -> bytes:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((size, size)).save(buf, "JPEG", quality=90)
    return buf.getvalue()
