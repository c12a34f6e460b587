"""The demo dataset: real LFW face / non-face crops that scikit-image ships, as image folders.

``skimage.data.lfw_subset()`` holds 100 face and 100 non-face 25x25 grayscale
crops from Labeled Faces in the Wild. They are written as JPEG files, one folder
per class, which is the layout a real user's dataset has. A per-class holdout
set is written to a separate folder that the pipeline never sees, for the
demo's final check against the served model.
"""

import random
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

CLASSES = ("face", "nonface")


def write_lfw_folders(out_dir: str | Path, *, holdout_per_class: int = 20, seed: int = 0) -> None:
    """Write ``<out_dir>/train/<class>/*.jpg`` and ``<out_dir>/holdout/<class>/*.jpg``."""
    images = data.lfw_subset()  # first 100: faces, last 100: non-faces
    per_class = len(images) // len(CLASSES)
    rng = random.Random(seed)
    for class_index, name in enumerate(CLASSES):
        indices = list(range(class_index * per_class, (class_index + 1) * per_class))
        rng.shuffle(indices)
        for rank, i in enumerate(indices):
            part = "holdout" if rank < holdout_per_class else "train"
            folder = Path(out_dir) / part / name
            folder.mkdir(parents=True, exist_ok=True)
            pixels = np.round(images[i] * 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"lfw_{i:03d}.jpg", quality=95)
