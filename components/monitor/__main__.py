"""Report drift between a published version's training data and its prediction logs.

Reads <log-uri>/<model>/<version>/date=YYYY-MM-DD/predictions-*.jsonl.gz for the
window, writes drift_report.json and drift_report.png to --out-dir, and prints the
verdict. Exits 0 when nothing drifted (or there was too little data to tell), 3 when
a signal drifted, 2 on an error.
"""

import argparse
import sys
from datetime import date

from components.cli import run_cli
from components.monitor.drift import PSI_SIGNIFICANT, monitor_drift


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.monitor", description=__doc__)
    parser.add_argument(
        "--log-uri", required=True, help="the predictor's prediction logs (path, gs://, s3://)"
    )
    parser.add_argument("--model-base-uri", required=True, help="where versions are published")
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--out-dir", required=True, help="where the JSON report and PNG go")
    parser.add_argument(
        "--version", type=_positive, default=None, help="default: the latest published"
    )
    parser.add_argument(
        "--days", type=_positive, default=7, help="window length, ending --until (default 7)"
    )
    parser.add_argument("--since", type=_date, default=None, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--until", type=_date, default=None, help="last day (default today)")
    parser.add_argument(
        "--psi-threshold", type=float, default=PSI_SIGNIFICANT, help="a larger PSI is drift"
    )
    parser.add_argument("--low-confidence-score", type=float, default=0.5)
    parser.add_argument("--max-low-confidence-share", type=float, default=0.2)
    parser.add_argument("--min-instances", type=int, default=100)
    args = parser.parse_args()

    def monitor() -> None:
        report = monitor_drift(
            args.log_uri,
            args.model_base_uri,
            args.model_name,
            args.out_dir,
            version=args.version,
            since=args.since,
            until=args.until,
            days=args.days,
            psi_threshold=args.psi_threshold,
            low_confidence_score=args.low_confidence_score,
            max_low_confidence_share=args.max_low_confidence_share,
            min_instances=args.min_instances,
        )
        if report.drifted:
            sys.exit(3)

    run_cli(monitor)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


if __name__ == "__main__":
    main()
