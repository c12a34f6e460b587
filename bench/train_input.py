"""``make bench-train``: does the tf.data input pipeline keep up with the training step?

Measures, side by side in one run on the demo's LFW images:

- input pipeline alone: images/s of decoding + augmentation + batching, cold
  (first pass: files read and decoded) and warm (later passes: from the cache);
- training step alone: images/s of ``train_on_batch`` on batches already in memory;
- the ratio input/training: above 1 the model never waits for data.

Writes ``bench/results/train-<timestamp>.json`` and ``.md`` and prints the table.
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf
from procstats import cpu_model  # bench/ is this script's own directory

from components.prepare.dataset import prepare_dataset, read_split
from components.train.data import image_dataset
from components.train.model import build_classifier
from pipelines.demo_data import write_lfw_folders

RESULTS = Path(__file__).resolve().parent / "results"


def images_per_second(ds: tf.data.Dataset, images: int) -> float:
    start = time.perf_counter()
    for _ in ds:
        pass
    return images / (time.perf_counter() - start)


def training_images_per_second(model: keras.Model, batches: list, steps: int) -> float:
    model.train_on_batch(*batches[0])  # trace once
    start = time.perf_counter()
    for i in range(steps):
        model.train_on_batch(*batches[i % len(batches)])
    return steps * len(batches[0][0]) / (time.perf_counter() - start)


def run(backbone: str, image_size: int, batch_size: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        write_lfw_folders(tmp)
        prepare_dataset(f"{tmp}/train", f"{tmp}/split")
        paths, labels, classes = read_split(f"{tmp}/split", "train")
        ds = image_dataset(
            paths, labels, image_size=image_size, batch_size=batch_size, training=True
        )
        cold = images_per_second(ds, len(paths))
        warm = max(images_per_second(ds, len(paths)) for _ in range(3))
        batches = [(x.numpy(), y.numpy()) for x, y in ds]
    model, _ = build_classifier(backbone, len(classes), image_size)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    train = training_images_per_second(model, batches, steps)
    return {
        "backbone": backbone,
        "image_size": image_size,
        "batch_size": batch_size,
        "images": len(paths),
        "input_cold_images_per_s": round(cold, 1),
        "input_warm_images_per_s": round(warm, 1),
        "train_step_images_per_s": round(train, 1),
        "ratio_cold_input_to_train": round(cold / train, 2),
        "ratio_warm_input_to_train": round(warm / train, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    rows = [
        run("small_cnn", 64, 16, args.steps),
        run("resnet50", 96, 16, max(5, args.steps // 5)),
    ]
    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
    }
    report = {"machine": machine, "results": rows}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"train-{stamp}.json").write_text(json.dumps(report, indent=1))
    table = _markdown(rows, report["machine"])
    (RESULTS / f"train-{stamp}.md").write_text(table)
    print(table)


def _markdown(rows: list[dict], machine: dict) -> str:
    head = (
        "| backbone | image | batch | input cold img/s | input warm img/s | train step img/s "
        "| cold/train | warm/train |\n|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['backbone']} | {r['image_size']} | {r['batch_size']} | "
        f"{r['input_cold_images_per_s']} | {r['input_warm_images_per_s']} | "
        f"{r['train_step_images_per_s']} | {r['ratio_cold_input_to_train']} | "
        f"{r['ratio_warm_input_to_train']} |\n"
        for r in rows
    )
    where = f"{machine['cpu']}, {machine['cores']} cores, TF {machine['tensorflow']}"
    return f"Training input pipeline vs training step ({where})\n\n{head}{body}"


if __name__ == "__main__":
    main()
