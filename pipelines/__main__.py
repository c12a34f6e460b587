"""CLI for the training pipeline.

python -m pipelines compile [--output FILE]
python -m pipelines run-local --data-uri DIR --model-base-uri DIR [--epochs N ...]
python -m pipelines submit --host URL --data-uri gs://... --model-base-uri gs://... [--cron ...]
"""

import argparse
import inspect
import json
import sys

from kfp import compiler

from components.cli import run_cli
from pipelines.local import run_local
from pipelines.submit import submit
from pipelines.training import PIPELINE_NAME, make_pipeline, training_pipeline


def main(argv: list[str] | None = None) -> None:
    # No abbreviations: a mistyped --epoch must be refused, not read as --epochs.
    parser = argparse.ArgumentParser(prog="python -m pipelines", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True)
    compile_cmd = commands.add_parser(
        "compile", allow_abbrev=False, help="write the pipeline as KFP IR YAML"
    )
    compile_cmd.add_argument("--output", default="build/training_pipeline.yaml")
    compile_cmd.add_argument(
        "--gcs-secret-name",
        default="",
        help="mount this Kubernetes secret's key.json as GCS credentials on every step "
        "(leave out with GKE workload identity)",
    )
    run_cmd = commands.add_parser(
        "run-local", allow_abbrev=False, help="run the pipeline here with kfp.local"
    )
    run_cmd.add_argument("--pipeline-root", default="build/local_outputs")
    _add_pipeline_parameters(run_cmd)
    submit_cmd = commands.add_parser(
        "submit", allow_abbrev=False, help="upload to Kubeflow Pipelines and run"
    )
    submit_cmd.add_argument(
        "--host", required=True, help="KFP endpoint, e.g. https://HOST/pipeline"
    )
    submit_cmd.add_argument("--package", default="build/training_pipeline.yaml")
    submit_cmd.add_argument("--experiment", default="image-classifier")
    submit_cmd.add_argument("--namespace", default=None, help="profile namespace (multi-user)")
    submit_cmd.add_argument("--cron", default="", help="recurring run, e.g. '0 0 3 * * *'")
    _add_pipeline_parameters(submit_cmd)
    args = parser.parse_args(argv)

    if args.command == "compile":
        pipeline = make_pipeline(args.gcs_secret_name)
        compiler.Compiler().compile(pipeline, package_path=args.output)
        print(f"wrote {args.output}")
        return
    options = ("command", "pipeline_root", "host", "package", "experiment", "namespace", "cron")
    arguments = {k: v for k, v in vars(args).items() if k not in options}
    if args.command == "submit":
        run_cli(lambda: print(submit(
            args.host, args.package, PIPELINE_NAME, args.experiment, arguments,
            cron=args.cron, namespace=args.namespace,
        ).run_url))  # fmt: skip
        return
    try:
        run_cli(lambda: run_local(args.pipeline_root, **arguments))
    except RuntimeError as err:
        print(f"error: pipeline run failed: {err}", file=sys.stderr)
        sys.exit(1)


def _add_pipeline_parameters(parser: argparse.ArgumentParser) -> None:
    """Add one flag per pipeline parameter (``--data-uri``, ``--epochs``...), typed from it."""
    for name, param in inspect.signature(training_pipeline.pipeline_func).parameters.items():
        flag = "--" + name.replace("_", "-")
        kind = json.loads if param.annotation is dict else param.annotation
        if param.default is inspect.Parameter.empty:
            parser.add_argument(flag, dest=name, required=True, type=kind)
        else:
            parser.add_argument(flag, dest=name, default=param.default, type=kind)


if __name__ == "__main__":
    main()
