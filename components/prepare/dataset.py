"""Validate a labelled image dataset, snapshot it, and write a seeded stratified split.

Input: a folder per class (local, ``gs://`` or ``s3://``) or a CSV manifest, see
:mod:`components.prepare.sources`. Output, the prepare step's artifact::

    images/<class>/<file>        the valid images, copied (a snapshot the run trains on)
    classes.txt                  one class name per line, sorted; line i is class id i
    train.csv, val.csv, test.csv ``path,label`` rows, paths relative to the artifact
    stats.json                   per-class counts, image sizes, content fingerprint,
                                 the training images' brightness histogram, and the
                                 invalid files that were skipped
"""

import csv
import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from components.artifacts import require_files
from components.brightness import histogram, mean_luma
from components.errors import DataError
from components.prepare.sources import LabelledFile, list_labelled_files
from components.prepare.validate import image_problem, image_size
from components.progress import Progress

SPLITS = ("train", "val", "test")
INVALID_POLICIES = ("fail", "skip")


@dataclass
class DatasetSplit:
    """Summary of a prepared dataset (also written as ``stats.json``)."""

    classes: list[str]
    counts: dict[str, dict[str, int]]  # split -> class -> images
    fingerprint: str  # sha256 over (class, file name, content) of every valid image
    image_sizes: dict[str, int]  # "WxH" -> images
    invalid: list[dict[str, str]]  # {"uri", "reason"} per skipped file
    # Mean luma of the train split's images (components/brightness.py): {"edges", "counts"};
    # the drift monitor's reference for the brightness of served images.
    brightness: dict[str, list] = field(default_factory=dict)


def prepare_dataset(
    data_uri: str,
    out_dir: str | Path,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    min_images_per_class: int = 3,
    invalid_files: str = "fail",
) -> DatasetSplit:
    """Validate every image under ``data_uri`` and write the split to ``out_dir``.

    Args:
        data_uri: folder per class (local path, ``gs://`` or ``s3://``) or a ``path,label`` CSV.
        out_dir: the artifact directory to write.
        val_fraction: share of each class for validation (at least one image).
        test_fraction: share of each class for the held-out test split (at least one).
        seed: shuffles each class; the same data and seed give the same split.
        min_images_per_class: a class with fewer valid images is an error.
        invalid_files: ``fail`` stops at corrupt, empty or non-image files;
            ``skip`` leaves them out and lists them in ``stats.json``.

    Raises:
        DataError: the layout is wrong, a file is invalid (with ``fail``), or a
            class has too few images.
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise DataError(
            f"val_fraction={val_fraction}, test_fraction={test_fraction}: "
            "each must be in (0, 1) and their sum below 1"
        )
    if invalid_files not in INVALID_POLICIES:
        raise DataError(f"invalid_files={invalid_files!r}: use 'fail' or 'skip'")
    out = Path(out_dir)
    files = list_labelled_files(data_uri)
    kept, invalid, sizes, digest, luma = _snapshot(files, out / "images", invalid_files)
    classes = sorted(kept)
    for label in classes:
        if len(kept[label]) < min_images_per_class:
            raise DataError(
                f"class {label!r} has {len(kept[label])} valid images; "
                f"need at least {min_images_per_class}"
            )
    rows, counts = _split(kept, val_fraction, test_fraction, seed)
    for split in SPLITS:
        with (out / f"{split}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label"])
            writer.writerows(rows[split])
    (out / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
    brightness = histogram(luma[path] for path, _ in rows["train"])
    result = DatasetSplit(classes, counts, digest, dict(sizes), invalid, brightness)
    (out / "stats.json").write_text(json.dumps(asdict(result), indent=1))
    for split in SPLITS:
        print(f"prepare: {split:5s} {counts[split]}")
    if invalid:
        print(f"prepare: skipped {len(invalid)} invalid files (listed in stats.json)")
    return result


def _snapshot(
    files: list[LabelledFile], images_dir: Path, policy: str
) -> tuple[dict[str, list[str]], list[dict[str, str]], Counter, str, dict[str, float]]:
    """Copy valid images into ``images_dir``; return kept names per class, invalid files,
    image-size histogram, the content fingerprint and each kept image's brightness
    (by its path in the split files, ``images/<class>/<name>``)."""
    kept: dict[str, list[str]] = defaultdict(list)
    invalid: list[dict[str, str]] = []
    sizes: Counter = Counter()
    luma: dict[str, float] = {}
    hashes = []
    progress = Progress("prepare: validating", len(files))
    for file in files:
        data = file.store.read_bytes(file.name)
        progress.advance()
        if problem := image_problem(data):
            if policy == "fail":
                raise DataError(
                    f"{file.uri}: {problem} (use invalid_files=skip to leave such files out)"
                )
            invalid.append({"uri": file.uri, "reason": problem})
            continue
        name = _unique_name(kept[file.label], file.name.rsplit("/", 1)[-1])
        target = images_dir / file.label / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        kept[file.label].append(name)
        width, height = image_size(data)
        sizes[f"{width}x{height}"] += 1
        luma[f"images/{file.label}/{name}"] = mean_luma(data)
        hashes.append(f"{file.label}/{name}:{hashlib.sha256(data).hexdigest()}")
    fingerprint = hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()
    return kept, invalid, sizes, fingerprint, luma


def _unique_name(taken: list[str], name: str) -> str:
    if name not in taken:
        return name
    return f"{len(taken)}_{name}"


def _split(
    kept: dict[str, list[str]], val_fraction: float, test_fraction: float, seed: int
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, dict[str, int]]]:
    rows: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    counts: dict[str, dict[str, int]] = {s: {} for s in SPLITS}
    rng = random.Random(seed)
    for label in sorted(kept):
        names = sorted(kept[label])
        rng.shuffle(names)
        n_test = max(1, round(len(names) * test_fraction))
        n_val = max(1, round(len(names) * val_fraction))
        if len(names) < n_test + n_val + 1:
            raise DataError(
                f"class {label!r} has {len(names)} valid images; "
                f"need at least {n_test + n_val + 1} for train/val/test"
            )
        parts = {
            "test": names[:n_test],
            "val": names[n_test : n_test + n_val],
            "train": names[n_test + n_val :],
        }
        for split, part in parts.items():
            rows[split].extend((f"images/{label}/{n}", label) for n in part)
            counts[split][label] = len(part)
    return rows, counts


def read_split(split_dir: str | Path, split: str) -> tuple[list[str], list[int], list[str]]:
    """Read one split written by :func:`prepare_dataset`: (local paths, class ids, class names)."""
    split_dir = require_files(split_dir, ["classes.txt", f"{split}.csv"], "prepare")
    classes = (split_dir / "classes.txt").read_text().split("\n")[:-1]
    index = {c: i for i, c in enumerate(classes)}
    with (split_dir / f"{split}.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [str(split_dir / r["path"]) for r in rows], [index[r["label"]] for r in rows], classes
