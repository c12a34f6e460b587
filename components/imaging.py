"""Image decoding shared by the training input pipeline and the serving signature.

Training and serving must turn encoded bytes into pixels the same way, or the
served model sees different inputs than the one that was evaluated. Both call
:func:`decode_image`; normalisation happens inside the Keras model itself.
"""

import tensorflow as tf


def decode_image(image_bytes: tf.Tensor, image_size: int) -> tf.Tensor:
    """Decode one JPEG/PNG/GIF/BMP string to a float32 ``[size, size, 3]`` tensor in [0, 255]."""
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    image = tf.image.resize(image, (image_size, image_size), method="bilinear")
    image.set_shape((image_size, image_size, 3))
    return image


def decode_batch(image_bytes: tf.Tensor, image_size: int) -> tf.Tensor:
    """Decode a ``[None]`` string tensor of encoded images to ``[None, size, size, 3]``."""
    return tf.map_fn(
        lambda b: decode_image(b, image_size),
        image_bytes,
        fn_output_signature=tf.TensorSpec((image_size, image_size, 3), tf.float32),
    )
