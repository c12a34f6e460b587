"""Scenario 4 on the real node: metrics-server feeds the HorizontalPodAutoscaler; a bounded
load through the Service scales the predictor out, and it scales back in once the load ends.

The test overlay (tests/k8s/cluster) shortens the HPA's windows: scale-down stabilization
15 s instead of 300 s, one pod per 15 s instead of per minute, at most 3 replicas.
"""

import time

from cluster_load import failures, v2_load
from cluster_report import record
from k8s_cluster import (
    get_json,
    holdout_images,
    service_url,
    wait_available,
    wait_pod_metrics,
)

LOAD_LIMIT_S = 180  # the load stops by itself after this, scaled out or not
SCALE_IN_LIMIT_S = 180


def _replicas(cluster) -> int:
    return get_json(cluster, "deployment", "predictor")["spec"]["replicas"]


def test_autoscaler_scales_out_under_load_and_back_in(predictor_deployment, split_dir):
    wait_available(predictor_deployment, "predictor", replicas=2)
    wait_pod_metrics(predictor_deployment, pods=2)  # metrics-server answers for the pods
    timeline: list[tuple[float, int, bool]] = []
    start = time.monotonic()

    def sample(load_on: bool) -> int:
        n = _replicas(predictor_deployment)
        timeline.append((round(time.monotonic() - start, 1), n, load_on))
        return n

    image = holdout_images(split_dir)[0]
    url = service_url(predictor_deployment)
    with v2_load(url, image, threads=4, max_seconds=LOAD_LIMIT_S) as load:
        scaled_at = None
        while time.monotonic() - start < LOAD_LIMIT_S:
            if sample(True) > 2 and scaled_at is None:
                scaled_at = time.monotonic()
            if scaled_at and time.monotonic() - scaled_at > 20:
                break  # out, and held there a while under load
            time.sleep(3)
    load_s = time.monotonic() - start
    ended = time.monotonic()
    while sample(False) > 2 and time.monotonic() - ended < SCALE_IN_LIMIT_S:
        time.sleep(3)
    scale_in_s = time.monotonic() - ended
    record(
        "autoscaling",
        {
            "load_seconds": round(load_s, 1),
            "requests_sent": load.result.sent,
            "max_replicas": max(n for _, n, _ in timeline),
            "final_replicas": timeline[-1][1],
            "scale_in_seconds": round(scale_in_s, 1),
            "timeline": timeline,
        },
    )
    hpa = get_json(predictor_deployment, "hpa", "predictor")
    assert max(n for _, n, _ in timeline) > 2, f"never scaled out: {timeline}, {hpa.get('status')}"
    assert timeline[-1][1] == 2, f"did not scale back in: {timeline}"
    assert failures(load.result) == []
