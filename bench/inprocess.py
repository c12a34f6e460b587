"""Python in-process limit: the SavedModel's signature called in a loop, no HTTP.

    python bench/inprocess.py --model DIR --image FILE --batches 1,32 --seconds 3

Prints one JSON line per batch size. ``bench/run.py`` runs it pinned to the
servers' core(s), beside the Go equivalent (``bench/inprocess/``).
"""

import argparse
import json
import time
from pathlib import Path

import tensorflow as tf


def images_per_second(signature, images: tf.Tensor, seconds: float) -> tuple[int, float]:
    """Call ``signature`` on ``images`` until ``seconds`` pass; return (calls, images/s)."""
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        signature(image_bytes=images)["probabilities"].numpy()
        calls += 1
    return calls, calls * int(images.shape[0]) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="SavedModel version directory")
    parser.add_argument("--image", required=True, type=Path, help="encoded image file")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    signature = tf.saved_model.load(args.model).signatures["serving_default"]
    image = args.image.read_bytes()
    for batch in [int(b) for b in args.batches.split(",")]:
        images = tf.constant([image] * batch)
        signature(image_bytes=images)  # warm-up
        calls, rate = images_per_second(signature, images, args.seconds)
        print(json.dumps({"batch": batch, "calls": calls, "images_per_s": round(rate, 1)}))


if __name__ == "__main__":
    main()
