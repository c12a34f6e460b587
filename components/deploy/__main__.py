"""Put a published model version in front of users (kubeconfig or in-cluster credentials).

Strategies: rolling (the Deployment rolls onto the version; rollback if its rollout or
smoke test fails), canary (a second Deployment takes a growing share of the route's
traffic, checked at each step against the stable pods' error rate and p99), shadow (the
route mirrors traffic to the new version; promotion needs its prediction logs to agree
with the stable version's). Exit 2 with a one-line reason when it fails.
"""

import argparse
import json

from components.cli import run_cli
from components.deploy.deploy import deploy_version
from components.deploy.params import STRATEGIES, strategy_params
from components.deploy.route import MIRRORS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m components.deploy", description=__doc__)
    parser.add_argument("--model-base-uri", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--version", type=int, required=True)
    parser.add_argument("--namespace", default="imgclf")
    parser.add_argument("--deployment", default="predictor")
    parser.add_argument("--strategy", default="rolling", help=f"one of {', '.join(STRATEGIES)}")
    parser.add_argument("--route", default="predictor", help="the HTTPRoute ('' for none)")
    parser.add_argument("--smoke-url", default="", help="default: http://<deployment>.<ns>.svc")
    parser.add_argument("--canary-smoke-url", default="",
                        help="default: http://<deployment>-canary.<ns>.svc")  # fmt: skip
    parser.add_argument("--timeout-s", type=float, default=600)
    canary = parser.add_argument_group("canary")
    canary.add_argument("--canary-steps", default="5,25,50,100", help="percents, increasing")
    canary.add_argument("--canary-step-wait-s", type=float, default=60)
    canary.add_argument("--canary-min-requests", type=int, default=20)
    canary.add_argument("--canary-max-error-rate-increase", type=float, default=0.01)
    canary.add_argument("--canary-max-p99-ratio", type=float, default=1.5)
    canary.add_argument("--canary-p99-margin-ms", type=float, default=50)
    shadow = parser.add_argument_group("shadow")
    shadow.add_argument("--prediction-log-uri", default="")
    shadow.add_argument("--shadow-percent", type=int, default=100)
    shadow.add_argument("--shadow-duration-s", type=float, default=300)
    shadow.add_argument("--shadow-min-agreement", type=float, default=0.95)
    shadow.add_argument("--shadow-max-delta", type=float, default=0.1)
    shadow.add_argument("--shadow-min-pairs", type=int, default=20)
    shadow.add_argument("--shadow-log-flush-s", type=float, default=70)
    shadow.add_argument("--shadow-mirror", default="gateway-api",
                        help=f"one of {', '.join(MIRRORS)}")  # fmt: skip
    args = parser.parse_args()
    run_cli(lambda: _deploy(args))


def _deploy(args: argparse.Namespace) -> None:
    canary, shadow = strategy_params(args.strategy, vars(args))
    result = deploy_version(
        model_base_uri=args.model_base_uri, model_name=args.model_name, version=args.version,
        namespace=args.namespace, deployment=args.deployment, strategy=args.strategy,
        canary=canary, shadow=shadow, route=args.route, smoke_url=args.smoke_url,
        canary_smoke_url=args.canary_smoke_url, timeout_s=args.timeout_s,
    )  # fmt: skip
    print(result.message)
    if result.report:
        print(json.dumps(result.report))


if __name__ == "__main__":
    main()
