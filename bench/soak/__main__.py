"""``python -m bench.soak [--short]``: run every soak scenario; write JSON and Markdown.

The long run (``make soak``) publishes 50 versions and holds each load longer;
``--short`` is the version ``make test`` runs.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from bench.soak import models as soak_models
from bench.soak import scenarios

RESULTS = Path(__file__).resolve().parent.parent / "results"


def run(short: bool, workdir: Path) -> list[dict]:
    """Run every scenario; return their figures."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from gcs_emulator import GCSEmulator  # the tests' object-store servers
    from object_stores import GCSBuckets, S3Buckets
    from s3_emulator import S3Emulator

    models = soak_models.build(workdir / "exports")
    gcs, s3 = GCSEmulator(root=workdir / "gcs"), S3Emulator()
    try:
        figures = [
            scenarios.new_versions(models, workdir, count=5 if short else 50, every_s=0.5),
            scenarios.bad_versions(models, workdir),
            scenarios.store_goes_away(models, workdir, GCSBuckets(gcs), "goes away"),
            scenarios.store_goes_away(models, workdir, S3Buckets(s3), "hangs"),
            scenarios.prediction_log_store_outage(models, workdir, GCSBuckets(gcs), "goes away"),
            scenarios.prediction_log_store_outage(models, workdir, S3Buckets(s3), "hangs"),
            scenarios.sigterm_mid_load(models, workdir),
            scenarios.overload(models, workdir, seconds=3 if short else 20),
            scenarios.hostile_inputs(models, workdir, mutations=50 if short else 1000),
            scenarios.hostile_grpc_inputs(models, workdir, mutations=25 if short else 500),
        ]
    finally:
        gcs.close()
        s3.close()
    return [f.asdict() for f in figures]


def markdown(figures: list[dict]) -> str:
    head = (
        "| scenario | requests sent | failed | faults injected | survived "
        "| bad inputs | answered 4xx | RSS start MB | RSS end MB |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = "".join(
        f"| {f['scenario']} | {f['requests_sent']} | {f['requests_failed']} | "
        f"{f['faults_injected']} | {f['faults_survived']} | {f['bad_inputs_tried']} | "
        f"{f['bad_inputs_4xx']} | {f['rss_start_mb']:.0f} | {f['rss_end_mb']:.0f} |\n"
        for f in figures
    )
    return head + rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the quick version run by make test")
    args = parser.parse_args()
    workdir = soak_models.scratch_dir()
    figures = run(args.short, workdir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    kind = "short" if args.short else "long"
    report = {"kind": kind, "machine": platform.platform(), "scenarios": figures}
    (RESULTS / f"soak-{stamp}.json").write_text(json.dumps(report, indent=1))
    table = markdown(figures)
    (RESULTS / f"soak-{stamp}.md").write_text(f"Soak ({kind} run)\n\n{table}")
    print(table)
    if any(f["requests_failed"] for f in figures):
        sys.exit(1)


if __name__ == "__main__":
    main()
