"""CLI: ``python -m components.prepare --data-uri DIR --out-dir DIR``."""

import argparse

from components.cli import run_cli
from components.prepare.dataset import prepare_dataset


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.prepare", description=__doc__)
    parser.add_argument("--data-uri", required=True, help="folder with one sub-folder per class")
    parser.add_argument("--out-dir", required=True, help="where the split files are written")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    run_cli(
        lambda: prepare_dataset(
            args.data_uri,
            args.out_dir,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
        )
    )


if __name__ == "__main__":
    main()
