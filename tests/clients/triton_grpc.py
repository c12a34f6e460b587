"""Call the predictor with tritonclient.grpc exactly as a Triton / KServe v2 gRPC user does.

Runs in build/clients-venv and prints what the client returned as JSON for
tests/test_grpc_clients.py to check.

    triton_grpc.py HOST:PORT MODEL infer|not-an-image IMAGE...
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from bytes_io import text
from tritonclient.utils import InferenceServerException


def main(url: str, model: str, mode: str, paths: list[str]) -> dict:
    images = [open(p, "rb").read() for p in paths]
    client = grpcclient.InferenceServerClient(url=url)
    if mode == "not-an-image":
        images[-1] = b"hello, not an image"
    image = grpcclient.InferInput("image_bytes", [len(images)], "BYTES")
    image.set_data_from_numpy(np.array(images, dtype=np.object_))
    if mode == "not-an-image":
        try:
            client.infer(model, [image])
        except InferenceServerException as e:
            return {"status": e.status(), "message": e.message()}
        return {"status": "OK"}
    outputs = [
        grpcclient.InferRequestedOutput("probabilities"),
        grpcclient.InferRequestedOutput("label"),
    ]
    result = client.infer(model, [image], outputs=outputs, request_id="client-1")
    top2 = grpcclient.InferRequestedOutput("probabilities", class_count=2)
    top = client.infer(model, [image], outputs=[top2])
    response = result.get_response(as_json=True)
    try:
        client.get_model_metadata("no-such-model")
        unknown = {"status": "OK"}
    except InferenceServerException as e:
        unknown = {"status": e.status(), "message": e.message()}
    return {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "metadata": client.get_model_metadata(model, as_json=True),
        "id": response.get("id"),
        "model_version": response.get("model_version"),
        "probabilities": result.as_numpy("probabilities").tolist(),
        "labels": [text(v) for v in result.as_numpy("label").ravel()],
        "top2": [[text(v) for v in row] for row in top.as_numpy("probabilities")],
        "unknown_model": unknown,
    }


if __name__ == "__main__":
    url, model, mode, *paths = sys.argv[1:]
    print(json.dumps(main(url, model, mode, paths)))
