"""Score a trained model on the held-out test split and apply the publish gate.

Exits 0 when the gate passes and 3 when it does not (the reason is printed).
"""

import argparse
import sys

from components.cli import run_cli
from components.evaluate.evaluate import evaluate_classifier


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.evaluate", description=__doc__)
    parser.add_argument("--model-dir", required=True, help="the train step's output directory")
    parser.add_argument("--split-dir", required=True, help="the prepare step's output directory")
    parser.add_argument("--out-dir", required=True, help="where metrics.json and the PNG go")
    parser.add_argument("--min-accuracy", type=float, default=0.0)
    parser.add_argument("--max-regression", type=float, default=0.0)
    parser.add_argument("--model-base-uri", default="", help="compare with the published model")
    parser.add_argument("--model-name", default="")
    args = parser.parse_args()

    def evaluate() -> None:
        result = evaluate_classifier(
            args.model_dir,
            args.split_dir,
            args.out_dir,
            min_accuracy=args.min_accuracy,
            max_regression=args.max_regression,
            model_base_uri=args.model_base_uri,
            model_name=args.model_name,
        )
        if not result.passed:
            sys.exit(3)

    run_cli(evaluate)


if __name__ == "__main__":
    main()
