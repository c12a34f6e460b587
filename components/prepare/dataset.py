"""Validate a folder-per-class image dataset and write a seeded, stratified split.

Input layout (the layout of the celebrity-faces proof of concept)::

    <data_dir>/<class name>/<image>.jpg|.png|...

Output (the prepare step's artifact directory)::

    classes.txt                 one class name per line, sorted; line i is class id i
    train.csv, val.csv, test.csv   ``path,label`` rows (absolute paths, class names)
    stats.json                  per-class counts, image sizes, content fingerprint
"""

import csv
import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from components.errors import DataError
from components.image_format import sniff_image_format
from components.storage import local_path

SPLITS = ("train", "val", "test")


@dataclass
class DatasetSplit:
    """Summary of a prepared dataset."""

    classes: list[str]
    counts: dict[str, dict[str, int]]  # split -> class -> images
    fingerprint: str
    image_sizes: dict[str, list[int]] = field(default_factory=dict)  # "WxH" -> [count]


def scan_dataset(data_uri: str) -> dict[str, list[Path]]:
    """List the images of each class folder, checking the layout and file signatures.

    This is cheap (it reads only each file's first bytes), so callers can run it
    before starting a long pipeline.

    Raises:
        DataError: the directory is missing, has fewer than two class folders,
            a class folder is empty, or a file is not a JPEG/PNG/GIF/BMP image.
    """
    root = local_path(data_uri)
    if not root.is_dir():
        raise DataError(f"data directory not found: {root}")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise DataError(f"{root}: need at least two class folders, found {len(class_dirs)}")
    files: dict[str, list[Path]] = {}
    for class_dir in class_dirs:
        images = sorted(
            p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith(".")
        )
        if not images:
            raise DataError(f"class folder is empty: {class_dir}")
        for image in images:
            with image.open("rb") as f:
                if sniff_image_format(f.read(16)) is None:
                    raise DataError(f"not a JPEG, PNG, GIF or BMP image: {image}")
        files[class_dir.name] = images
    return files


def prepare_dataset(
    data_uri: str,
    out_dir: str | Path,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
) -> DatasetSplit:
    """Validate every image under ``data_uri`` and write a stratified split to ``out_dir``.

    Each class is shuffled with ``seed`` and cut into test, validation and train
    parts, so the same data and seed always give the same split.

    Raises:
        DataError: the layout is wrong, a file cannot be decoded, or a class has
            too few images to give every split at least one.
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise DataError(
            f"val_fraction={val_fraction}, test_fraction={test_fraction}: "
            "each must be in (0, 1) and their sum below 1"
        )
    files = scan_dataset(data_uri)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    counts: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    sizes: dict[str, int] = {}
    digest = hashlib.sha256()
    rng = random.Random(seed)
    print(f"prepare: validating {sum(map(len, files.values()))} images in {len(files)} classes")
    for label, images in files.items():
        for image in images:
            size = _check_decodes(image)
            sizes[size] = sizes.get(size, 0) + 1
            digest.update(f"{label}/{image.name}\0".encode())
            digest.update(hashlib.sha256(image.read_bytes()).digest())
        shuffled = images[:]
        rng.shuffle(shuffled)
        n_test = max(1, round(len(images) * test_fraction))
        n_val = max(1, round(len(images) * val_fraction))
        if len(images) < n_test + n_val + 1:
            raise DataError(
                f"class folder {images[0].parent} has {len(images)} images; "
                f"need at least {n_test + n_val + 1} for train/val/test"
            )
        parts = {
            "test": shuffled[:n_test],
            "val": shuffled[n_test : n_test + n_val],
            "train": shuffled[n_test + n_val :],
        }
        for split, part in parts.items():
            rows[split].extend((str(p.resolve()), label) for p in part)
            counts[split][label] = len(part)
    for split in SPLITS:
        with (out / f"{split}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label"])
            writer.writerows(rows[split])
    classes = list(files)
    (out / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
    result = DatasetSplit(classes, counts, digest.hexdigest(), {k: [v] for k, v in sizes.items()})
    (out / "stats.json").write_text(json.dumps(asdict(result), indent=1))
    for split in SPLITS:
        print(f"prepare: {split:5s} {counts[split]}")
    return result


def read_split(split_dir: str | Path, split: str) -> tuple[list[str], list[int], list[str]]:
    """Read one split written by :func:`prepare_dataset`: (paths, class ids, class names)."""
    split_dir = Path(split_dir)
    classes = (split_dir / "classes.txt").read_text().split()
    index = {c: i for i, c in enumerate(classes)}
    with (split_dir / f"{split}.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["path"] for r in rows], [index[r["label"]] for r in rows], classes


def _check_decodes(image: Path) -> str:
    try:
        with Image.open(image) as img:
            img.load()
            return f"{img.width}x{img.height}"
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot decode image {image}: {err}") from err
