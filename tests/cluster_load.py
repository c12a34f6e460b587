"""A bounded load for the cluster scenarios: bench/soak's SteadyLoad sending KServe v2
inferences (their answers name the version that computed them) with a new connection per
request, so kube-proxy's current rules pick the pod each time. It stops by itself after
``max_seconds`` and only ever sends to the URL it is given: a ClusterIP or the Gateway of
the test's own cluster.
"""

from __future__ import annotations

import base64
import json
from collections import Counter

from bench.soak.load import LoadResult, SteadyLoad
from bench.soak.models import answered_version


def v2_load(base_url: str, image: bytes, model: str = "lfw-faces", threads: int = 2,
            max_seconds: float = 300) -> SteadyLoad:  # fmt: skip
    return SteadyLoad(base_url, f"/v2/models/{model}/infer", v2_body(image), threads=threads,
                      max_seconds=max_seconds, fresh_connections=True)  # fmt: skip


def v2_body(image: bytes) -> bytes:
    """A KServe v2 infer request for one encoded image, asking for its label."""
    tensor = {"name": "image_bytes", "datatype": "BYTES", "shape": [1],
              "data": [base64.b64encode(image).decode()]}  # fmt: skip
    return json.dumps({"inputs": [tensor], "outputs": [{"name": "label"}]}).encode()


def failures(result: LoadResult, since: float = 0.0) -> list[str]:
    """Every answer that was not a 200: when it was sent (seconds after ``since``, a
    ``time.monotonic()``), how long it took, its status (0: no HTTP answer, and why) and
    body."""
    return [
        f"at {a.started - since:.1f}s after {a.latency_s:.1f}s: {a.status} {a.error} "
        f"{a.body[:200]!r}"
        for a in result.answers
        if a.status != 200
    ]


def versions(result: LoadResult) -> dict[str, int]:
    """How many 200 answers each model version gave."""
    counts = Counter(str(answered_version(a.body)) for a in result.answers if a.status == 200)
    return dict(counts)
