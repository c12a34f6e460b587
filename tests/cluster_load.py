"""A bounded load for the cluster scenarios: bench/soak's SteadyLoad sending KServe v2
inferences (their answers name the version that computed them) with a new connection per
request, so kube-proxy's current rules pick the pod each time. It stops by itself after
``max_seconds`` and only ever sends to the URL it is given: a ClusterIP or the Gateway of
the test's own cluster. Beside it, :class:`GrpcLoad`: TF Serving Predict calls over gRPC,
bounded the same way.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass

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


@dataclass(frozen=True)
class GrpcAnswer:
    """One Predict call: when it started, how long it took, its status code's name, and
    the version its answer names (None unless OK)."""

    started: float
    latency_s: float
    code: str
    version: int | None


class GrpcLoad:
    """One client calling TF Serving's Predict (tensorflow-serving-api's stubs) at ``target``
    (host:port: the test cluster's Gateway) back to back on one channel, every answer
    recorded. The gateway picks the backend per call. It stops when the ``with`` block ends,
    or by itself after ``max_seconds``."""

    def __init__(self, target: str, image: bytes, model: str = "lfw-faces",
                 max_seconds: float = 300) -> None:  # fmt: skip
        from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorflow_serving.apis import predict_pb2

        self.target, self.max_seconds = target, max_seconds
        self.request = predict_pb2.PredictRequest()
        self.request.model_spec.name = model
        self.request.output_filter.append("label")
        one = tensor_shape_pb2.TensorShapeProto.Dim(size=1)
        self.request.inputs["image_bytes"].CopyFrom(
            tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[image],
                                   tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[one]))
        )  # fmt: skip
        self.answers: list[GrpcAnswer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._client, daemon=True)

    def __enter__(self) -> GrpcLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def failures(self) -> list[str]:
        return [f"{a.code} after {a.latency_s:.1f}s" for a in self.answers if a.code != "OK"]

    def _client(self) -> None:
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        deadline = time.monotonic() + self.max_seconds
        with grpc.insecure_channel(self.target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            while not self._stop.is_set() and time.monotonic() < deadline:
                start = time.monotonic()
                try:
                    reply = stub.Predict(self.request, timeout=30)
                    code, version = "OK", reply.model_spec.version.value
                except grpc.RpcError as err:
                    code, version = err.code().name, None
                    time.sleep(0.05)
                self.answers.append(GrpcAnswer(start, time.monotonic() - start, code, version))
