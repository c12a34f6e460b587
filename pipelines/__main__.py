"""CLI for the training pipeline.

python -m pipelines compile [--output FILE]
python -m pipelines run-local --data-uri DIR --model-base-uri DIR [--epochs N ...]
"""

import argparse
import inspect
import sys

from kfp import compiler

from components.cli import run_cli
from pipelines.local import run_local
from pipelines.training import make_pipeline, training_pipeline


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines")
    commands = parser.add_subparsers(dest="command", required=True)
    compile_cmd = commands.add_parser("compile", help="write the pipeline as KFP IR YAML")
    compile_cmd.add_argument("--output", default="build/training_pipeline.yaml")
    compile_cmd.add_argument(
        "--gcs-secret-name",
        default="",
        help="mount this Kubernetes secret's key.json as GCS credentials on every step "
        "(leave out with GKE workload identity)",
    )
    run_cmd = commands.add_parser("run-local", help="run the pipeline here with kfp.local")
    run_cmd.add_argument("--pipeline-root", default="build/local_outputs")
    _add_pipeline_parameters(run_cmd)
    args = parser.parse_args(argv)

    if args.command == "compile":
        pipeline = make_pipeline(args.gcs_secret_name)
        compiler.Compiler().compile(pipeline, package_path=args.output)
        print(f"wrote {args.output}")
        return
    arguments = {k: v for k, v in vars(args).items() if k not in ("command", "pipeline_root")}
    try:
        run_cli(lambda: run_local(args.pipeline_root, **arguments))
    except RuntimeError as err:
        print(f"error: pipeline run failed: {err}", file=sys.stderr)
        sys.exit(1)


def _add_pipeline_parameters(parser: argparse.ArgumentParser) -> None:
    """Add one flag per pipeline parameter (``--data-uri``, ``--epochs``...), typed from it."""
    for name, param in inspect.signature(training_pipeline.pipeline_func).parameters.items():
        flag = "--" + name.replace("_", "-")
        if param.default is inspect.Parameter.empty:
            parser.add_argument(flag, dest=name, required=True, type=param.annotation)
        else:
            parser.add_argument(flag, dest=name, default=param.default, type=param.annotation)


if __name__ == "__main__":
    main()
