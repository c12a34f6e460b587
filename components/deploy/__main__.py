"""Roll the predictor Deployment onto a published model version (kubeconfig or in-cluster).

Waits for the rollout like `kubectl rollout status`, smoke-tests one prediction
through the Service, and rolls back (exit 2) when either fails.
"""

import argparse

from components.cli import run_cli
from components.deploy.deploy import deploy_version


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.deploy", description=__doc__)
    parser.add_argument("--model-base-uri", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--version", type=int, required=True)
    parser.add_argument("--namespace", default="imgclf")
    parser.add_argument("--deployment", default="predictor")
    parser.add_argument("--smoke-url", default="", help="default: http://<deployment>.<ns>.svc")
    parser.add_argument("--timeout-s", type=float, default=600)
    args = parser.parse_args()
    run_cli(lambda: print(deploy_version(**vars(args)).message))


if __name__ == "__main__":
    main()
