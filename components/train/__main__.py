"""Fine-tune a Keras backbone with a new softmax head on a prepared split.

Re-running with the same --out-dir after a crash resumes from the last backup;
with --checkpoint-uri (a directory, gs:// or s3://), so does a re-run with a new --out-dir.
"""

import argparse
import dataclasses

from components.cli import run_cli
from components.train.model import BACKBONES
from components.train.train import TrainParams, train_classifier


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.train", description=__doc__)
    parser.add_argument("--split-dir", required=True, help="the prepare step's output directory")
    parser.add_argument("--out-dir", required=True, help="where the model and logs go")
    parser.add_argument(
        "--checkpoint-uri",
        default="",
        help="mirror the training state here after each epoch, so a restart resumes from it",
    )
    for field in dataclasses.fields(TrainParams):
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=field.type if isinstance(field.type, type) else str,
            default=field.default,
            choices=BACKBONES if field.name == "backbone" else None,
            help=f"default: {field.default}",
        )
    args = vars(parser.parse_args())
    split_dir, out_dir = args.pop("split_dir"), args.pop("out_dir")
    checkpoint_uri = args.pop("checkpoint_uri")
    run_cli(
        lambda: print(train_classifier(split_dir, out_dir, TrainParams(**args), checkpoint_uri))
    )


if __name__ == "__main__":
    main()
