"""Classifier architectures: a backbone (the "base") plus a new softmax head.

Every model takes float32 ``[None, size, size, 3]`` pixels in [0, 255] (what
:func:`components.imaging.decode_image` yields) and does its own normalisation,
so the exported serving graph needs nothing but decoding and resizing.
"""

from pathlib import Path

import keras

from components.errors import StepError

BACKBONES = ("small_cnn", "resnet50")


@keras.saving.register_keras_serializable(package="imgclf")
class CaffePreprocess(keras.layers.Layer):
    """ResNet50's ImageNet preprocessing (RGB -> BGR, subtract the ImageNet mean) as a layer.

    A layer rather than a Lambda, so the saved ``.keras`` file loads without
    unsafe deserialisation.
    """

    def call(self, inputs):
        bgr = keras.ops.flip(inputs, axis=-1)
        return bgr - keras.ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=inputs.dtype)


def build_classifier(
    backbone: str, num_classes: int, image_size: int, weights: str = "none"
) -> tuple[keras.Model, keras.Model]:
    """Build ``(model, base)``: the full classifier and its backbone.

    Args:
        backbone: one of :data:`BACKBONES`.
        num_classes: size of the softmax head.
        image_size: side of the square input image.
        weights: ``imagenet`` (keras.applications download), a path to a weights
            file for the backbone, or ``none`` (random initialisation).

    The backbone is frozen when pretrained weights are loaded (transfer learning:
    only the new head trains). With ``none`` there is nothing to preserve, so
    the backbone trains too.
    """
    if backbone not in BACKBONES:
        raise StepError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    if backbone == "resnet50":
        base = _resnet50(image_size, weights)
        x = CaffePreprocess(name="caffe_preprocess")(inputs)
    else:
        base = _small_cnn(image_size, weights)
        x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    base.trainable = weights.lower() == "none"
    x = base(x, training=False)
    x = keras.layers.Dropout(0.3, name="head_dropout")(x)
    # float32 softmax even under mixed precision, for numerically stable probabilities
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"{backbone}_classifier"), base


def unfreeze_top(base: keras.Model, layers: int) -> None:
    """Make the top ``layers`` layers of ``base`` trainable, keeping BatchNorm frozen.

    BatchNorm statistics learned on the large pretraining set are kept: updating
    them on a small fine-tuning set destroys what the backbone learned.
    """
    base.trainable = True
    for i, layer in enumerate(base.layers):
        top = i >= len(base.layers) - layers
        layer.trainable = top and not isinstance(layer, keras.layers.BatchNormalization)


def _resnet50(image_size: int, weights: str) -> keras.Model:
    pretrained = "imagenet" if weights.lower() == "imagenet" else None
    try:
        base = keras.applications.ResNet50(
            include_top=False,
            weights=pretrained,
            input_shape=(image_size, image_size, 3),
            pooling="avg",
        )
    except Exception as err:  # the download goes through urllib: any network error
        if pretrained is None:
            raise
        raise StepError(
            f"downloading the ImageNet weights for resnet50 failed ({err}); "
            "pass a weights file (--weights PATH) or --weights none"
        ) from err
    _load_weights_file(base, weights)
    return base


def _small_cnn(image_size: int, weights: str) -> keras.Model:
    """A compact CNN for CPU runs and the demo (no pretrained weights exist for it)."""
    inputs = keras.Input((image_size, image_size, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    base = keras.Model(inputs, x, name="small_cnn")
    _load_weights_file(base, weights)
    return base


def _load_weights_file(base: keras.Model, weights: str) -> None:
    if weights.lower() in ("none", "imagenet"):
        return
    path = Path(weights)
    if not path.is_file():
        raise StepError(f"backbone weights file not found: {path}")
    base.load_weights(path)
