"""KServe's Python ModelServer + TensorFlow peer of ``make bench`` (what a KServe user runs on CPU).

Runs in ``build/kserve-venv`` (``make kserve-venv``), started as a KServe
custom predictor is::

    build/kserve-venv/bin/python bench/servers/kserve_app.py --http_port 8080 \
        --model_name small --model_dir build/bench/models/small --workers 1 \
        --enable_grpc false --configure_logging false --enable_latency_logging false

It speaks the Open Inference Protocol v2 over REST (``POST
/v2/models/{name}/infer``, ``/v2/health/ready``, ``/v2/health/live``): one BYTES
input ``image_bytes`` of encoded images, base64 in JSON (JSON carries text
only) or raw with the binary tensor extension. The model is the other peers'
(``served_model.py``): the newest complete version under ``--model_dir``, its
``serving_default`` signature called once per request on one string tensor.
Like the FastAPI peer, the signature runs in a thread (KServe's own executor,
``--max_asyncio_workers``) so the event loop keeps parsing requests while
TensorFlow computes. The bench turns off gRPC (it measures REST only) and the
per-request log lines, as every other server of the bench runs without an
access log.
"""

import argparse
import asyncio
import base64
import binascii

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server
from kserve.errors import InvalidInput
from kserve.utils.utils import generate_uuid
from served_model import ServedModel

INPUT = "image_bytes"
# The signature's outputs, as the predictor's v2 replies name and type them.
OUTPUTS = (
    ("probabilities", "FP32", np.float32),
    ("class_id", "INT64", np.int64),
    ("label", "BYTES", np.object_),
)


class ImageClassifier(Model):
    """The bench SavedModel behind KServe's v2 data plane."""

    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir
        self.served: ServedModel | None = None
        self.load()

    def load(self) -> bool:
        """Load the newest complete version once, before the server accepts requests."""
        self.served = ServedModel(self.model_dir, self.name)
        self.ready = True
        return self.ready

    async def predict(self, payload: InferRequest, headers: dict | None = None) -> InferResponse:
        """Classify the images of the ``image_bytes`` input; one output row per image."""
        assert self.served is not None
        images = decode_images(payload)
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(None, self.served.predict, images)
        outputs = []
        for name, datatype, dtype in OUTPUTS:
            array = np.array([r[name] for r in rows], dtype=dtype)
            out = InferOutput(name, list(array.shape), datatype)
            out.set_data_from_numpy(array, binary_data=False)
            outputs.append(out)
        return InferResponse(payload.id or generate_uuid(), self.name, outputs)


def decode_images(payload: InferRequest) -> list[bytes]:
    """The encoded images of the request: base64 strings in JSON, raw bytes in binary form."""
    tensors = [i for i in payload.inputs if i.name == INPUT]
    if len(tensors) != 1 or tensors[0].datatype != "BYTES":
        raise InvalidInput(f'want one BYTES input named "{INPUT}" of encoded images')
    images = []
    for value in tensors[0].as_numpy().ravel():
        if isinstance(value, bytes):  # binary tensor extension: the image itself
            images.append(value)
            continue
        try:
            images.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError, TypeError) as err:
            raise InvalidInput(f"{INPUT}: JSON elements must be base64 images: {err}") from err
    if not images:
        raise InvalidInput(f"{INPUT} is empty")
    return images


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_dir", required=True, help="holds <N>/ SavedModel versions")
    args, _ = parser.parse_known_args()
    model = ImageClassifier(args.model_name, args.model_dir)
    ModelServer().start([model])
