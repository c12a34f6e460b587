"""Export a trained model as an image-bytes SavedModel, verify it, and publish the next version."""

import argparse
import json

from components.cli import run_cli
from components.export.publish import export_and_publish


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.export", description=__doc__)
    parser.add_argument("--model-dir", required=True, help="the train step's output directory")
    parser.add_argument("--split-dir", required=True, help="the prepare step's output directory")
    parser.add_argument(
        "--model-base-uri", required=True, help="local directory, gs://... or s3://..."
    )
    parser.add_argument("--model-name", required=True)
    parser.add_argument(
        "--evaluation", default="", help="the evaluate step's metrics.json, kept in metadata"
    )
    args = parser.parse_args()

    def export() -> None:
        evaluation = json.loads(open(args.evaluation).read()) if args.evaluation else {}
        published = export_and_publish(
            args.model_dir, args.split_dir, args.model_base_uri, args.model_name, evaluation
        )
        print(published.uri)

    run_cli(export)


if __name__ == "__main__":
    main()
