"""tf.data input pipelines over the split files written by the prepare step."""

import tensorflow as tf

from components.imaging import decode_image


def image_dataset(
    paths: list[str],
    labels: list[int],
    *,
    image_size: int,
    batch_size: int,
    training: bool,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of ``(pixels, class id)``: parallel decode, cache; shuffle + augment for training.

    Files are read with ``tf.io.read_file``, so local paths and ``gs://`` URIs both work.
    """
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(
        lambda p, y: (decode_image(tf.io.read_file(p), image_size), y),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).cache()
    if training:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(lambda x, y: (_augment(x, seed), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _augment(image: tf.Tensor, seed: int) -> tf.Tensor:
    image = tf.image.random_flip_left_right(image, seed=seed)
    image = tf.image.random_brightness(image, max_delta=20.0, seed=seed)
    return tf.clip_by_value(image, 0.0, 255.0)
