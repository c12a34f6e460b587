"""The serving SavedModel: image-bytes signature, in-graph decoding, parity with Keras."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components.errors import StepError
from components.export.savedmodel import export_savedmodel, verify_savedmodel
from components.imaging import decode_batch
from components.train.model import build_classifier

CLASSES = ["a", "b", "c"]


def _png(width: int, height: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model, _ = build_classifier("small_cnn", len(CLASSES), 32)
    out = export_savedmodel(model, CLASSES, 32, tmp_path_factory.mktemp("x") / "m", {"k": "v"})
    return model, out


def test_signature_takes_image_bytes_and_returns_named_outputs(exported):
    _, out = exported
    signature = tf.saved_model.load(str(out)).signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("image_bytes", tf.string, [None])
    assert set(signature.structured_outputs) == {"probabilities", "class_id", "label"}
    assert (out / "assets" / "labels.txt").read_text().split() == CLASSES


def test_served_predictions_equal_keras_for_any_image_size(exported):
    model, out = exported
    signature = tf.saved_model.load(str(out)).signatures["serving_default"]
    images = tf.constant([_png(32, 32, 1), _png(50, 20, 2), _png(7, 90, 3)])
    served = signature(image_bytes=images)
    expected = model.predict(decode_batch(images, 32), verbose=0)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(served["class_id"].numpy(), expected.argmax(axis=1))
    labels = [CLASSES[i] for i in expected.argmax(axis=1)]
    assert [s.decode() for s in served["label"].numpy()] == labels


def test_bytes_that_are_not_an_image_are_an_invalid_argument(exported):
    _, out = exported
    signature = tf.saved_model.load(str(out)).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError):
        signature(image_bytes=tf.constant([b"definitely not an image"]))


def test_verify_refuses_an_export_that_disagrees_with_keras(exported, tmp_path):
    model, out = exported
    files = []
    for i in range(2):
        files.append(tmp_path / f"{i}.png")
        files[-1].write_bytes(_png(16, 16, 10 + i))
    verify_savedmodel(out, model, [str(f) for f in files], 32)
    other, _ = build_classifier("small_cnn", len(CLASSES), 32)
    with pytest.raises(StepError, match="differs from Keras"):
        verify_savedmodel(out, other, [str(f) for f in files], 32)
