"""Call the predictor with tensorflow-serving-api's gRPC stubs as a TF Serving user does.

Runs in .venv: tensorflow_serving.apis imports TensorFlow's own protos
(tensorflow.core.framework), so it needs the tensorflow package, which the
clients' venv cannot hold. Prints what the stubs returned as JSON for
tests/test_grpc_clients.py to check.

    tfserving_grpc.py HOST:PORT MODEL predict|oversize IMAGE...
"""

import json
import sys

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    input_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)


def _error(e: grpc.RpcError) -> dict:
    return {"code": e.code().name, "details": e.details()}


def main(target: str, model: str, mode: str, paths: list[str]) -> dict:
    images = [open(p, "rb").read() for p in paths]
    channel = grpc.insecure_channel(target)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    if mode == "oversize":
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto([b"x" * (20 << 20)]))
        try:
            stub.Predict(request, timeout=30)
        except grpc.RpcError as e:
            return _error(e)
        return {"code": "OK"}

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "serving_default"
    request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto(images, dtype=tf.string))
    predicted = stub.Predict(request, timeout=30)

    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = model
    for image in images:
        example = classify.input.example_list.examples.add()
        example.features.feature["image_bytes"].bytes_list.value.append(image)
    assert isinstance(classify.input, input_pb2.Input)
    classified = stub.Classify(classify, timeout=30)

    metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
    metadata_request.model_spec.name = model
    metadata_request.metadata_field.append("signature_def")
    metadata = stub.GetModelMetadata(metadata_request, timeout=30)
    defs = get_model_metadata_pb2.SignatureDefMap()
    metadata.metadata["signature_def"].Unpack(defs)

    status_request = get_model_status_pb2.GetModelStatusRequest()
    status_request.model_spec.name = model
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request)

    unknown = predict_pb2.PredictRequest()
    unknown.model_spec.name = "no-such-model"
    try:
        stub.Predict(unknown, timeout=30)
        unknown_error = {"code": "OK"}
    except grpc.RpcError as e:
        unknown_error = _error(e)

    return {
        "version": predicted.model_spec.version.value,
        "probabilities": tf.make_ndarray(predicted.outputs["probabilities"]).tolist(),
        "labels": [v.decode() for v in tf.make_ndarray(predicted.outputs["label"]).ravel()],
        "classes": [
            [(c.label, c.score) for c in cl.classes] for cl in classified.result.classifications
        ],
        "signature_inputs": {
            k: tf.dtypes.as_dtype(v.dtype).name
            for k, v in defs.signature_def["serving_default"].inputs.items()
        },
        "method_name": defs.signature_def["serving_default"].method_name,
        "status": [
            (s.version, get_model_status_pb2.ModelVersionStatus.State.Name(s.state))
            for s in status.model_version_status
        ],
        "unknown_model": unknown_error,
    }


if __name__ == "__main__":
    target, model, mode, *paths = sys.argv[1:]
    print(json.dumps(main(target, model, mode, paths)))
