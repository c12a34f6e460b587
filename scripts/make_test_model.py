"""Write the Go tests' fixture: a small real SavedModel, images, and Keras's predictions.

    python scripts/make_test_model.py serving/testdata/model

Produces ``<out>/1/`` (a version published through the real export and publish
code), ``<out>/images/`` (PNG and JPEG files of several sizes) and
``<out>/expected.json`` with the probabilities Keras computes for each image,
which the Go predictor must reproduce. ``<out>/variant/1/`` is a second model
with the same signature and other weights (``"variant"`` in expected.json), so
a test that swaps versions can tell which one answered.
"""

import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from components.export.savedmodel import export_savedmodel
from components.imaging import decode_batch
from components.storage import publish_version
from components.train.model import build_classifier

CLASSES = ["cat", "dog", "bird"]
IMAGE_SIZE = 32


def main(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    (out / "images").mkdir(parents=True)
    images = _write_images(out / "images")
    encoded = [p.read_bytes() for p in images]
    pixels = decode_batch(np.array(encoded, dtype=object), IMAGE_SIZE)
    expected = {
        "images": _publish(out, seed=7, shift=0, pixels=pixels, images=images),
        "variant": _publish(out / "variant", seed=8, shift=1, pixels=pixels, images=images),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1))
    print(f"wrote {out}: version 1 and variant/1, {len(images)} images")


def _publish(base: Path, seed: int, shift: int, pixels: np.ndarray, images: list[Path]) -> dict:
    """Publish a fixture model as ``base/1``; return Keras's predictions for each image."""
    keras.utils.set_random_seed(seed)
    model, _ = build_classifier("small_cnn", len(CLASSES), IMAGE_SIZE)
    _spread_head(model, pixels, shift)
    with tempfile.TemporaryDirectory() as tmp:
        export = export_savedmodel(model, CLASSES, IMAGE_SIZE, Path(tmp) / "m", {"fixture": True})
        published = publish_version(export, str(base.parent), base.name)
    assert published.version == 1, published
    probabilities = model.predict(pixels, verbose=0)
    return {
        p.name: {
            "probabilities": [float(x) for x in probs],
            "class_id": int(probs.argmax()),
            "label": CLASSES[int(probs.argmax())],
        }
        for p, probs in zip(images, probabilities, strict=True)
    }


def _spread_head(model: keras.Model, pixels: np.ndarray, shift: int) -> None:
    """Rescale the random head so the fixture images get confident, different classes
    (image i gets class (i + shift) mod 3)."""
    head = model.get_layer("head")
    features = keras.Model(model.input, head.input).predict(pixels, verbose=0)
    mean = features.mean(axis=0)
    targets = 4 * np.eye(len(CLASSES))[(np.arange(len(features)) + shift) % len(CLASSES)]
    kernel = np.linalg.pinv(features - mean) @ (targets - targets.mean(axis=0))
    head.set_weights([kernel, -mean @ kernel])


def _write_images(folder: Path) -> list[Path]:
    rng = np.random.default_rng(3)
    paths = []
    for i, (w, h, fmt) in enumerate(
        [(32, 32, "PNG"), (48, 40, "JPEG"), (20, 64, "PNG"), (100, 75, "JPEG")]
    ):
        yy, xx = np.mgrid[0:h, 0:w]
        pixels = np.stack([xx * 255 // w, yy * 255 // h, rng.integers(0, 256, (h, w))], axis=-1)
        buf = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buf, format=fmt)
        path = folder / f"image{i}.{fmt.lower().replace('jpeg', 'jpg')}"
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


if __name__ == "__main__":
    main(Path(sys.argv[1]))
