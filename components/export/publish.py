"""Export the trained model, verify the export, and publish it as the next version."""

import json
import os
import shutil
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import tensorflow as tf

from components.artifacts import require_files
from components.export.savedmodel import export_savedmodel, verify_savedmodel
from components.imaging import decode_batch
from components.prepare.dataset import read_split
from components.storage import PublishedVersion, publish_version
from components.train.train import load_trained

VERIFY_IMAGES = 8


def export_and_publish(
    model_dir: str | Path,
    split_dir: str | Path,
    model_base_uri: str,
    model_name: str,
    evaluation: dict[str, object],
) -> PublishedVersion:
    """Export ``model_dir``'s best model, check it against Keras, and publish it.

    Nothing is published when the export cannot be verified. The version's
    ``metadata.json`` records the evaluation, the training parameters, the data
    fingerprint, the code version, and ``data_stats``: the training data's class counts,
    image sizes and brightness, which the drift monitor compares served requests with.
    """
    model, classes, params = load_trained(model_dir)
    stats = json.loads(
        (require_files(split_dir, ["stats.json"], "prepare") / "stats.json").read_text()
    )
    test_paths, _, _ = read_split(split_dir, "test")
    metadata = {
        "model_name": model_name,
        "classes": classes,
        "evaluation": evaluation,
        "training": params.__dict__,
        "data_fingerprint": stats["fingerprint"],
        "data_counts": stats["counts"],
        "data_stats": data_stats(classes, stats),
        "code_version": _code_version(),
        "tensorflow_version": tf.__version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    metadata["smoke_test"] = _smoke_test(model, classes, params.image_size, Path(test_paths[0]))
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        export_dir = export_savedmodel(model, classes, params.image_size, Path(tmp) / "m", metadata)
        shutil.copyfile(test_paths[0], export_dir / metadata["smoke_test"]["image"])
        verify_savedmodel(export_dir, model, test_paths[:VERIFY_IMAGES], params.image_size)
        published = publish_version(export_dir, model_base_uri, model_name)
    print(f"export: published {model_name} version {published.version} at {published.uri}")
    return published


def data_stats(classes: list[str], stats: dict) -> dict[str, object]:
    """The reference the drift monitor (components/monitor) compares served requests with,
    from the prepare step's ``stats.json``: the train split's class counts and brightness
    histogram, and the image sizes of the whole (valid) dataset."""
    return {
        "classes": classes,
        "train_counts": stats["counts"]["train"],
        "image_sizes": stats["image_sizes"],
        "brightness": stats.get("brightness") or None,  # absent from older splits
    }


def _smoke_test(model, classes: list[str], image_size: int, image: Path) -> dict[str, object]:
    """One test image and Keras's prediction for it: the deploy step's smoke test."""
    encoded = tf.constant([image.read_bytes()])
    probabilities = model.predict(decode_batch(encoded, image_size), verbose=0)[0]
    return {
        "image": f"assets/smoke_test{image.suffix.lower()}",
        "label": classes[int(probabilities.argmax())],
        "probabilities": [float(p) for p in probabilities],
    }


def _code_version() -> str:
    if code := os.environ.get("IMGCLF_CODE_VERSION"):
        return code
    try:
        return version("imgclf")
    except PackageNotFoundError:
        return "unknown"
