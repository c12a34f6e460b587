"""The serving SavedModel: encoded image bytes in, named predictions out.

Signature ``serving_default``:

- input ``image_bytes``: ``tf.string [None]``, JPEG/PNG/GIF/BMP files as sent by clients;
- outputs ``probabilities`` (``float32 [None, classes]``), ``class_id`` (``int64 [None]``)
  and ``label`` (``string [None]``).

Decoding and resizing run inside the graph with the same function the training
input pipeline uses, so clients send images, not tensors.
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from components.errors import StepError
from components.imaging import decode_batch

SERVING_SIGNATURE = "serving_default"
INPUT_KEY = "image_bytes"
LABELS_ASSET = "assets/labels.txt"


def export_savedmodel(
    model: keras.Model,
    classes: list[str],
    image_size: int,
    out_dir: str | Path,
    metadata: dict[str, object],
) -> Path:
    """Write ``model`` as an image-bytes SavedModel with labels and metadata to ``out_dir``."""
    out = Path(out_dir)
    labels = tf.constant(classes)

    def serve(image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = model(decode_batch(image_bytes, image_size), training=False)
        class_id = tf.argmax(probabilities, axis=-1)
        return {
            "probabilities": probabilities,
            "class_id": class_id,
            "label": tf.gather(labels, class_id),
        }

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SERVING_SIGNATURE,
        fn=serve,
        input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_KEY)],
    )
    archive.write_out(str(out), verbose=False)
    (out / LABELS_ASSET).parent.mkdir(exist_ok=True)
    (out / LABELS_ASSET).write_text("".join(f"{c}\n" for c in classes))
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1, default=str))
    return out


def verify_savedmodel(
    export_dir: str | Path,
    model: keras.Model,
    image_files: list[str],
    image_size: int,
    *,
    atol: float = 1e-5,
) -> None:
    """Reload the export and check it predicts what the Keras model predicts on ``image_files``.

    Raises:
        StepError: the reloaded signature disagrees with Keras (nothing must be published).
    """
    loaded = tf.saved_model.load(str(export_dir))
    signature = loaded.signatures[SERVING_SIGNATURE]
    encoded = tf.constant([Path(f).read_bytes() for f in image_files])
    served = signature(**{INPUT_KEY: encoded})["probabilities"].numpy()
    expected = model.predict(decode_batch(encoded, image_size), verbose=0)
    worst = float(np.abs(served - expected).max())
    if worst > atol:
        raise StepError(
            f"{export_dir}: exported signature differs from Keras by {worst:.2e} (> {atol})"
        )
