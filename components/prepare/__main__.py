"""Validate a labelled image dataset and write a seeded, stratified train/val/test split."""

import argparse

from components.cli import run_cli
from components.prepare.dataset import prepare_dataset


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.prepare", description=__doc__)
    parser.add_argument(
        "--data-uri",
        required=True,
        help="folder with one sub-folder per class (path, gs:// or s3://), or a path,label CSV",
    )
    parser.add_argument("--out-dir", required=True, help="where images and split files go")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-images-per-class", type=int, default=3)
    parser.add_argument(
        "--invalid-files",
        choices=("fail", "skip"),
        default="fail",
        help="stop at a corrupt/empty/non-image file, or skip it and list it in stats.json",
    )
    args = parser.parse_args()
    run_cli(
        lambda: prepare_dataset(
            args.data_uri,
            args.out_dir,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
            min_images_per_class=args.min_images_per_class,
            invalid_files=args.invalid_files,
        )
    )


if __name__ == "__main__":
    main()
