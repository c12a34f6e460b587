"""Scenario 6 on the real node: the deploy step's canary and shadow strategies through the
real Gateway (Traefik), under a bounded load sent to the Gateway, as the pipeline's service
account.

The module first publishes three copies of the stable version (each answers as the stable
model but names its own version, so every answer says who computed it) and sets two things
on the stable pod template, which canaries are made from: the test-only
``PREDICTOR_TEST_FAULTS`` makes one of those versions 1.5 s slow (no other version is
touched), and prediction logging with input hashes goes to a node directory, which the
shadow's agreement check reads.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from math import sqrt

import pytest
from cluster_load import GrpcAnswer, GrpcLoad, failures, v2_body, v2_load, versions
from cluster_report import record
from k8s_cluster import (
    CLUSTER_DIR,
    DEPLOYER,
    MODEL,
    NAMESPACE,
    ROOT,
    deploy,
    gateway_url,
    holdout_images,
    pinned,
    ready_pod_ips,
    service_url,
)
from kubernetes import client

from bench.soak.models import answered_version
from components.deploy.canary_deployment import read_canary
from components.deploy.deploy import DeployError
from components.deploy.params import CanaryParams, ShadowParams
from components.deploy.route import Route
from components.errors import StepError
from components.storage import publish_version

SLOW_S = 1.5  # the slow version's added latency (PREDICTOR_TEST_FAULTS)
LOGS = CLUSTER_DIR / "predictions"  # the pods' prediction log (a hostPath), read by the step
# Bounds for this busy 2-core node: a canary 1.5 s slower fails them by far, an equal one
# (whose p99 the histogram's coarse buckets can put one bucket above stable's) passes.
CANARY = CanaryParams(steps=(20, 50, 100), step_wait_s=10, min_requests=10, max_p99_ratio=2,
                      p99_margin_ms=250)  # fmt: skip
# The namespace enforces Pod Security "restricted": no hostPath in pods, so the log
# directory reaches them as a static PersistentVolume, as the models do (overlays/local).
LOG_VOLUME = """
apiVersion: v1
kind: PersistentVolume
metadata:
  name: imgclf-predictions
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: imgclf, name: predictor-predictions}
  hostPath: {path: LOGS, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: predictor-predictions
  namespace: imgclf
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ""
  volumeName: imgclf-predictions
  resources: {requests: {storage: 1Gi}}
"""
SETTLE_S = 2.0  # after a weight change, before its answers are counted (Traefik reloads)


@dataclass(frozen=True)
class Versions:
    stable: int  # what the stable Deployment serves when the module starts
    good: int  # a copy of it: the canary that is promoted
    slow: int  # a copy made slow by the test-only fault flag: the canary that fails
    shadow: int  # a copy: the interrupted canary, then the shadow that is promoted


@pytest.fixture(scope="module")
def published(predictor_deployment, admin, cluster_models, tmp_path_factory) -> Versions:
    """Three copies of the stable version published, and the stable template set up."""
    cluster = predictor_deployment
    if pinned(admin) is None:  # this module alone: no earlier rollout pinned a version
        deploy(cluster, admin, cluster_models, 1, "rolling")
    stable = pinned(admin)
    assert stable is not None
    copies = []
    for name in ("good", "slow", "shadow"):
        folder = tmp_path_factory.mktemp(name) / "model"
        shutil.copytree(cluster_models / MODEL / str(stable), folder)
        (folder / "_COMPLETE").unlink()
        copies.append(publish_version(folder, str(cluster_models), MODEL).version)
    found = Versions(stable, *copies)
    LOGS.mkdir(parents=True, exist_ok=True)
    LOGS.chmod(0o777)  # the pods run as 65532
    cluster.apply(LOG_VOLUME.replace("LOGS", str(LOGS)))
    env = {"PREDICTOR_TEST_FAULTS": f"version={found.slow},delay={int(SLOW_S * 1000)}ms",
           "PREDICTOR_PREDICTION_LOG_URI": "/predictions",
           "PREDICTOR_PREDICTION_LOG_INPUTS": "hash",
           "PREDICTOR_PREDICTION_LOG_FLUSH_INTERVAL": "2s"}  # fmt: skip
    patch = [{"op": "add", "path": "/spec/template/spec/containers/0/env/-",
              "value": {"name": k, "value": v}} for k, v in env.items()]  # fmt: skip
    patch += [
        {"op": "add", "path": "/spec/template/spec/volumes/-",
         "value": {"name": "predictions",
                   "persistentVolumeClaim": {"claimName": "predictor-predictions"}}},
        {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts/-",
         "value": {"name": "predictions", "mountPath": "/predictions"}},
    ]  # fmt: skip
    cluster.kubectl("-n", NAMESPACE, "patch", "deployment", "predictor", "--type=json",
                    "-p", json.dumps(patch))  # fmt: skip
    cluster.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/predictor",
                    "--timeout=240s")  # fmt: skip
    return found


@pytest.fixture(scope="module")
def applied(predictor_deployment, admin) -> dict:
    """The HTTPRoute's and GRPCRoute's rules as the overlay applied them, before any
    strategy moved them."""
    route = _route(admin)
    grpc = route.read_grpc()
    assert grpc is not None, "k8s/base applies a GRPCRoute beside the HTTPRoute"
    return {"http": route.read()["spec"]["rules"], "grpc": grpc["spec"]["rules"]}


@pytest.fixture(scope="module")
def gateway(published, predictor_deployment) -> str:
    return gateway_url(predictor_deployment)


@pytest.fixture(scope="module")
def image(split_dir) -> bytes:
    return holdout_images(split_dir)[0]


def _route(api) -> Route:
    return Route(api, "predictor", NAMESPACE, "predictor", "predictor-canary")


def _assert_clean(admin, applied: dict) -> None:
    """Both routes' rules as applied (every request to the stable Service alone), and no
    canary pod left running."""
    route = _route(admin)
    assert route.state().clean
    assert route.read()["spec"]["rules"] == applied["http"]
    assert route.read_grpc()["spec"]["rules"] == applied["grpc"]
    canary = read_canary(client.AppsV1Api(admin), "predictor", NAMESPACE)
    assert canary is None or canary.spec.replicas == 0


def _versions_by_pod(cluster, image: bytes) -> set[int | None]:
    """The version each Ready stable pod answers with, asked at its own IP."""
    pods = ready_pod_ips(cluster, "app.kubernetes.io/name=predictor,"
                                  "app.kubernetes.io/component=serving")  # fmt: skip
    assert len(pods) >= 2
    body = v2_body(image)
    answered = set()
    for ip in pods:
        request = urllib.request.Request(f"http://{ip}:8501/v2/models/{MODEL}/infer", data=body)
        with urllib.request.urlopen(request, timeout=30) as response:
            answered.add(answered_version(response.read()))
    return answered


def _split(answers, start: float, end: float, canary: int) -> tuple[int, float]:
    """How many answers (HTTP 200s, or gRPC OKs) were sent and received within
    [start + SETTLE_S, end], and the share of them that the canary version computed."""
    counted = [v for a in answers if start + SETTLE_S <= a.started
               and a.started + a.latency_s <= end and (v := _version(a)) is not None]  # fmt: skip
    if not counted:
        return 0, 0.0
    return len(counted), counted.count(canary) / len(counted)


def _version(answer) -> int | None:
    if isinstance(answer, GrpcAnswer):
        return answer.version
    return answered_version(answer.body) if answer.status == 200 else None


def _tolerance(weight: int, n: int) -> float:
    """Four binomial standard deviations plus 5 points: the observed share's allowance."""
    p = weight / 100
    return 4 * sqrt(p * (1 - p) / max(n, 1)) + 0.05


def test_deployer_may_do_only_what_its_roles_say(predictor_deployment):
    account = "system:serviceaccount:{}:{}".format(*DEPLOYER)
    listed = predictor_deployment.kubectl("auth", "can-i", "--list", "-n", NAMESPACE,
                                          f"--as={account}").stdout  # fmt: skip
    granted = set()
    for line in listed.splitlines()[1:]:
        if line.startswith(" "):
            continue  # a non-resource URL (discovery, health): every account has those
        resource, _urls, names, verbs = re.match(
            r"(\S+)\s+(\[.*?\])\s+(\[.*?\])\s+(\[.*?\])", line
        ).groups()
        if not resource.startswith("selfsubject"):  # every account may ask what it may do
            granted.add((resource, names, verbs))
    assert granted == {
        ("deployments.apps", "[predictor]", "[get patch]"),
        ("deployments.apps", "[predictor-canary]", "[get patch delete]"),
        ("deployments.apps", "[]", "[create]"),
        ("httproutes.gateway.networking.k8s.io", "[predictor]", "[get patch]"),
        ("grpcroutes.gateway.networking.k8s.io", "[predictor]", "[get patch]"),
        ("traefikservices.traefik.io", "[predictor-mirror]", "[get patch]"),
        ("replicasets.apps", "[]", "[list watch]"),
        ("pods", "[]", "[list watch]"),
    }, listed
    for verb, what, allowed in [
        ("patch", "httproutes/predictor", "yes"),
        ("patch", "httproutes/other", "no"),
        ("patch", "grpcroutes/predictor", "yes"),
        ("delete", "deployments/predictor", "no"),
        ("delete", "deployments/predictor-canary", "yes"),
        ("patch", "services/predictor", "no"),
        ("get", "secrets", "no"),
        ("create", "pods", "no"),
        ("patch", "deployments/predictor", "yes"),
        ("patch", "deployments/other", "no"),
        ("create", "deployments", "yes"),  # cannot be limited by name: the Role's comment
        ("list", "replicasets", "yes"),
        ("watch", "pods", "yes"),
    ]:
        got = predictor_deployment.kubectl("auth", "can-i", verb, what, "-n", NAMESPACE,
                                           f"--as={account}", check=False)  # fmt: skip
        assert got.stdout.strip() == allowed, (verb, what, got.stdout, got.stderr)


def test_missing_route_fails_before_anything_changes(predictor_deployment, admin, deployer,
                                                     cluster_models, published):  # fmt: skip
    before = _route(admin).read()["metadata"]["resourceVersion"]
    # The service account may read only the route named in its Role; an admin sees it missing.
    route = "httproutes.gateway.networking.k8s.io/nope"
    for api, problem in [(deployer, f"forbidden: cannot get {route}"),
                         (admin, f"{route} not found")]:  # fmt: skip
        with pytest.raises(StepError, match=problem):
            deploy(predictor_deployment, api, cluster_models, published.good, "canary",
                    canary=CANARY, route="nope")  # fmt: skip
    assert _route(admin).read()["metadata"]["resourceVersion"] == before
    assert read_canary(client.AppsV1Api(admin), "predictor", NAMESPACE) is None
    assert pinned(admin) == published.stable


def test_good_canary_takes_each_weight_and_is_promoted(
    predictor_deployment, applied, admin, deployer, cluster_models, published, gateway, image
):
    started = time.monotonic()
    grpc_target = gateway.removeprefix("http://")  # the listener speaks h2c too
    with v2_load(gateway, image, max_seconds=400) as load, \
            GrpcLoad(grpc_target, image, max_seconds=400) as grpc_load:  # fmt: skip
        result = deploy(predictor_deployment, deployer, cluster_models, published.good,
                         "canary", canary=CANARY)  # fmt: skip
        time.sleep(3)
    answers = load.result
    assert result.changed and result.strategy == "canary"
    assert failures(answers, since=started) == []
    assert grpc_load.failures() == []
    steps = result.report["steps"]
    assert [s["weight"] for s in steps] == list(CANARY.steps)
    observed = []
    for step in steps:
        seen = {"weight": step["weight"], "canary": step["canary"], "stable": step["stable"]}
        for protocol, sent in (("http", answers.answers), ("grpc", grpc_load.answers)):
            n, share = _split(sent, step["started"], step["ended"], published.good)
            allowed = _tolerance(step["weight"], n)
            seen[protocol] = {"answers": n, "canary_share": round(share, 3),
                              "tolerance": round(allowed, 3)}  # fmt: skip
            assert n >= 20, (protocol, observed, seen)
            assert abs(share - step["weight"] / 100) <= allowed, (protocol, observed, seen)
        observed.append(seen)
    assert pinned(admin) == published.good
    _assert_clean(admin, applied)
    assert _versions_by_pod(predictor_deployment, image) == {published.good}
    late = [a for a in answers.answers if a.started > time.monotonic() - 2.5 and a.status == 200]
    assert late and {answered_version(a.body) for a in late} == {published.good}
    late_grpc = [a for a in grpc_load.answers if a.started > time.monotonic() - 2.5]
    assert late_grpc and {a.version for a in late_grpc} == {published.good}
    record("canary", {"from": published.stable, "to": published.good,
                      "seconds": round(time.monotonic() - started, 1),
                      "requests_sent": answers.sent, "requests_failed": len(failures(answers)),
                      "grpc_calls": len(grpc_load.answers),
                      "grpc_failed": len(grpc_load.failures()),
                      "steps": observed, "step_wait_s": CANARY.step_wait_s,
                      "settle_s": SETTLE_S})  # fmt: skip


def test_slow_canary_is_stopped_at_its_first_step(
    predictor_deployment, applied, admin, deployer, cluster_models, published, gateway, image
):
    started = time.monotonic()
    # 4 threads: a request to the slow canary holds its thread for 1.5 s.
    with v2_load(gateway, image, threads=4, max_seconds=300) as load:
        with pytest.raises(
            DeployError, match=r"failed at 20% \(.*canary p99 \d+ ms > \d+ ms"
        ) as err:
            deploy(predictor_deployment, deployer, cluster_models, published.slow, "canary",
                    canary=CANARY)  # fmt: skip
        stopped = time.monotonic()
        time.sleep(SETTLE_S + 2)
    answers = load.result
    assert failures(answers, since=started) == []
    assert pinned(admin) == published.good
    _assert_clean(admin, applied)
    assert read_canary(client.AppsV1Api(admin), "predictor", NAMESPACE) is None  # deleted
    by_version = versions(answers)
    assert by_version.get(str(published.slow), 0) > 0  # it did get its 20%
    after = [a for a in answers.answers if a.started > stopped + SETTLE_S and a.status == 200]
    assert after and {answered_version(a.body) for a in after} == {published.good}
    record("canary_failed", {"version": published.slow, "added_latency_s": SLOW_S,
                             "seconds_until_stopped": round(stopped - started, 1),
                             "requests_sent": answers.sent,
                             "requests_failed": len(failures(answers)),
                             "answers_by_version": by_version,
                             "reason": str(err.value)})  # fmt: skip


def test_interrupted_canary_is_repaired_by_the_next_run(
    predictor_deployment, applied, admin, deployer, deployer_kubeconfig, cluster_models, published,
    gateway, image,
):  # fmt: skip
    route = _route(admin)
    started = time.monotonic()
    with v2_load(gateway, image, max_seconds=300) as load:
        step = subprocess.Popen(
            [sys.executable, "-m", "components.deploy", "--model-base-uri", str(cluster_models),
             "--model-name", MODEL, "--version", str(published.shadow), "--namespace", NAMESPACE,
             "--strategy", "canary", "--canary-steps", "20,50,100", "--canary-step-wait-s", "60",
             "--smoke-url", service_url(predictor_deployment),
             "--canary-smoke-url", service_url(predictor_deployment, "predictor-canary")],
            env={**os.environ, "KUBECONFIG": str(deployer_kubeconfig)}, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while route.state().canary_weight == 0 and step.poll() is None:
                assert time.monotonic() < deadline, "the canary never got traffic"
                time.sleep(0.5)
            time.sleep(3)  # mid-step: the canary serves 20%
        finally:
            step.send_signal(signal.SIGKILL)
            output = step.communicate(timeout=30)[0]
        killed = time.monotonic()
        assert route.state().canary_weight == 20, output
        left = read_canary(client.AppsV1Api(admin), "predictor", NAMESPACE)
        assert left is not None and left.spec.replicas == 1
        repaired = deploy(predictor_deployment, deployer, cluster_models, published.good,
                           "rolling")  # fmt: skip
        fixed = time.monotonic()
        time.sleep(SETTLE_S + 2)
    answers = load.result
    # Stable already served that version: the run repairs, then rolls nothing new (or, if
    # the autoscaler's newest pod is not yet available, waits for it and smoke-tests).
    assert repaired.version == published.good and "serving" in repaired.message
    assert failures(answers, since=started) == []
    assert pinned(admin) == published.good
    _assert_clean(admin, applied)
    assert read_canary(client.AppsV1Api(admin), "predictor", NAMESPACE) is None
    during = [a for a in answers.answers if started < a.started < killed and a.status == 200]
    assert any(answered_version(a.body) == published.shadow for a in during)
    after = [a for a in answers.answers if a.started > fixed + SETTLE_S and a.status == 200]
    assert after and {answered_version(a.body) for a in after} == {published.good}
    record("canary_interrupted", {"version": published.shadow, "killed_at_weight": 20,
                                  "repair_seconds": round(fixed - killed, 1),
                                  "requests_sent": answers.sent,
                                  "requests_failed": len(failures(answers)),
                                  "answers_by_version": versions(answers)})  # fmt: skip


def test_shadow_sees_mirrored_traffic_and_clients_only_stable_answers(
    predictor_deployment, applied, admin, deployer, cluster_models, published, gateway, image
):
    shadow = ShadowParams(prediction_log_uri=str(LOGS), percent=50, duration_s=15,
                          min_agreement=0.95, max_delta=0.01, min_pairs=10, mirror="traefik",
                          log_flush_s=6)  # fmt: skip
    started = time.monotonic()
    with v2_load(gateway, image, max_seconds=300) as load:
        result = deploy(predictor_deployment, deployer, cluster_models, published.shadow,
                         "shadow", shadow=shadow)  # fmt: skip
        time.sleep(3)
    answers = load.result
    assert failures(answers, since=started) == []
    report = result.report
    agreement = report["agreement"]
    mirrored = [a for a in answers.answers if a.status == 200
                and report["mirror_started"] <= a.started <= report["mirror_ended"]]  # fmt: skip
    assert len(mirrored) >= 20
    assert {answered_version(a.body) for a in mirrored} == {published.good}  # clients: stable
    # The shadow's own logs: it received the mirrored requests, about half of them.
    assert agreement["shadow_records"] >= 10 and agreement["pairs"] >= 10
    assert agreement["top1_agreement"] == 1.0 and agreement["max_probability_delta"] < 1e-5
    assert agreement["shadow_records"] <= agreement["stable_records"]
    assert pinned(admin) == published.shadow
    _assert_clean(admin, applied)
    record("shadow", {"from": published.good, "to": published.shadow,
                      "percent": shadow.percent, "mirror_seconds": shadow.duration_s,
                      "requests_sent": answers.sent, "requests_failed": len(failures(answers)),
                      "client_answers_while_mirrored": len(mirrored),
                      "stable_records": agreement["stable_records"],
                      "shadow_records": agreement["shadow_records"],
                      "pairs": agreement["pairs"],
                      "top1_agreement": agreement["top1_agreement"],
                      "max_probability_delta": agreement["max_probability_delta"]})  # fmt: skip
