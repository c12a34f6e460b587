"""Call the predictor with tritonclient.http exactly as a Triton / KServe v2 user does.

Runs in build/clients-venv (tritonclient cannot share .venv with TensorFlow) and
prints what the client returned as JSON for tests/test_v2_clients.py to check.

    triton_infer.py HOST:PORT MODEL binary|json IMAGE...
"""

import json
import sys

import numpy as np
import tritonclient.http as httpclient
from bytes_io import read_images, text


def main(url: str, model: str, mode: str, paths: list[str]) -> dict:
    binary = mode == "binary"
    images = read_images(paths, binary)
    client = httpclient.InferenceServerClient(url=url)
    image = httpclient.InferInput("image_bytes", [len(images)], "BYTES")
    image.set_data_from_numpy(np.array(images, dtype=np.object_), binary_data=binary)
    outputs = [
        httpclient.InferRequestedOutput("probabilities", binary_data=binary),
        httpclient.InferRequestedOutput("label", binary_data=binary),
    ]
    result = client.infer(model, [image], outputs=outputs, request_id="client-1")
    top2 = httpclient.InferRequestedOutput("probabilities", binary_data=binary, class_count=2)
    top = client.infer(model, [image], outputs=[top2])
    response = result.get_response()
    return {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "metadata": client.get_model_metadata(model),
        "id": response.get("id"),
        "model_version": response.get("model_version"),
        "probabilities": result.as_numpy("probabilities").tolist(),
        "labels": [text(v) for v in result.as_numpy("label").ravel()],
        "top2": [[text(v) for v in row] for row in top.as_numpy("probabilities")],
    }


if __name__ == "__main__":
    url, model, mode, *paths = sys.argv[1:]
    print(json.dumps(main(url, model, mode, paths)))
