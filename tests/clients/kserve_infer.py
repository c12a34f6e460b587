"""Call the predictor with the kserve Python client (InferenceRESTClient), as a KServe user does.

Runs in build/clients-venv and prints what the client returned as JSON for
tests/test_v2_clients.py. Modes: ``v2-binary`` and ``v2-json`` (Open Inference
Protocol, binary tensor extension on or off) and ``v1`` (TF Serving's
``:predict``, which KServe's v1 protocol is).

    kserve_infer.py HOST:PORT MODEL v2-binary|v2-json|v1 IMAGE...
"""

import asyncio
import base64
import json
import sys

import numpy as np
from bytes_io import read_images, text
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


async def main(url: str, model: str, mode: str, paths: list[str]) -> dict:
    base_url = f"http://{url}"
    images = read_images(paths, binary=mode != "v2-json")
    protocol = "v1" if mode == "v1" else "v2"
    async with InferenceRESTClient(RESTConfig(protocol=protocol, timeout=60)) as client:
        if mode == "v1":
            # No readiness call here: v1 status is TF Serving's model_version_status
            # document, not KServe v1's {"ready": ...}; /v2/models/{name}/ready is the probe.
            instances = [{"b64": base64.b64encode(b).decode()} for b in images]
            reply = await client.infer(base_url, {"instances": instances}, model_name=model)
            predictions = reply["predictions"]
            return {
                "probabilities": [p["probabilities"] for p in predictions],
                "labels": [p["label"] for p in predictions],
            }
        ready = await client.is_model_ready(base_url, model)
        binary = mode == "v2-binary"
        image = InferInput(name="image_bytes", shape=[len(images)], datatype="BYTES")
        image.set_data_from_numpy(np.array(images, dtype=np.object_), binary_data=binary)
        request = InferRequest(model_name=model, infer_inputs=[image], request_id="kserve-1")
        response = await client.infer(base_url, request, model_name=model)
        outputs = {o.name: o.as_numpy() for o in response.outputs}
        return {
            "model_ready": ready,
            "id": response.id,
            "probabilities": outputs["probabilities"].tolist(),
            "labels": [text(v) for v in outputs["label"].ravel()],
        }


if __name__ == "__main__":
    url, model, mode, *paths = sys.argv[1:]
    print(json.dumps(asyncio.run(main(url, model, mode, paths))))
