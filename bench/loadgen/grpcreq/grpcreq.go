// Package grpcreq builds the predictor's gRPC predict requests with one image,
// with serving's generated stubs, and sends and receives messages as wire
// bytes: what the load generator and the soak's hostile-input run share.
package grpcreq

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
)

// Method is the full gRPC method name of each API.
var Method = map[string]string{
	"predict": apis.PredictionService_Predict_FullMethodName,
	"infer":   inference.GRPCInferenceService_ModelInfer_FullMethodName,
}

// Request is the serialized request message of api for model with one image.
func Request(api, model string, image []byte) ([]byte, error) {
	switch api {
	case "predict":
		return proto.Marshal(PredictRequest(model, image))
	case "infer":
		return proto.Marshal(InferRequest(model, image))
	}
	return nil, fmt.Errorf("api %q: want predict or infer", api)
}

// PredictRequest is TF Serving's PredictRequest with image as the one
// element of the image_bytes string tensor.
func PredictRequest(model string, image []byte) *apis.PredictRequest {
	return &apis.PredictRequest{
		ModelSpec: &apis.ModelSpec{Name: model},
		Inputs: map[string]*framework.TensorProto{"image_bytes": {
			Dtype:       framework.DataType_DT_STRING,
			TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 1}}},
			StringVal:   [][]byte{image},
		}},
	}
}

// InferRequest is a ModelInferRequest with image as the one element of the
// BYTES input image_bytes, in raw_input_contents (4-byte little-endian length,
// then the bytes).
func InferRequest(model string, image []byte) *inference.ModelInferRequest {
	raw := binary.LittleEndian.AppendUint32(nil, uint32(len(image)))
	return &inference.ModelInferRequest{
		ModelName: model,
		Inputs: []*inference.ModelInferRequest_InferInputTensor{
			{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{1}},
		},
		RawInputContents: [][]byte{append(raw, image...)},
	}
}

// RawCodec sends request bytes as they are and keeps reply bytes undecoded:
// the load generator marshals its request once, before the run, and discards
// replies unread as the HTTP mode discards reply bodies, so neither side's
// protobuf work is the client's. Its name is "proto", so the server decodes
// the bytes with its protobuf codec as from any client.
type RawCodec struct{}

// Frame is a message's wire bytes.
type Frame []byte

func (RawCodec) Marshal(v any) ([]byte, error) {
	switch f := v.(type) {
	case Frame:
		return f, nil
	case *Frame:
		return *f, nil
	}
	return nil, fmt.Errorf("raw codec: cannot send %T", v)
}

func (RawCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*Frame)
	if !ok {
		return fmt.Errorf("raw codec: cannot read into %T", v)
	}
	*f = append((*f)[:0], data...) // data is the transport's buffer: copy it
	return nil
}

func (RawCodec) Name() string { return "proto" }

// Dial opens n client connections to addr (plaintext) that send messages up
// to maxSend bytes and take replies of any size.
func Dial(addr string, n, maxSend int) ([]*grpc.ClientConn, error) {
	conns := make([]*grpc.ClientConn, 0, max(n, 1))
	for range max(n, 1) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(maxSend)))
		if err != nil {
			return nil, fmt.Errorf("dialing %s: %w", addr, err)
		}
		conns = append(conns, cc)
	}
	return conns, nil
}

// Prediction is one call's answer, decoded: what bench/run.py checks before
// it measures a server, and what the soak compares with the model's output.
type Prediction struct {
	Label         string    `json:"label"`
	Probabilities []float32 `json:"probabilities"`
}

// Decode reads the prediction from the wire bytes of an answer to api.
func Decode(api string, reply []byte) (Prediction, error) {
	switch api {
	case "predict":
		var resp apis.PredictResponse
		if err := proto.Unmarshal(reply, &resp); err != nil {
			return Prediction{}, fmt.Errorf("decoding PredictResponse: %w", err)
		}
		return predictPrediction(&resp)
	case "infer":
		var resp inference.ModelInferResponse
		if err := proto.Unmarshal(reply, &resp); err != nil {
			return Prediction{}, fmt.Errorf("decoding ModelInferResponse: %w", err)
		}
		return inferPrediction(&resp)
	}
	return Prediction{}, fmt.Errorf("api %q: want predict or infer", api)
}

func predictPrediction(resp *apis.PredictResponse) (Prediction, error) {
	label, probs := resp.GetOutputs()["label"], resp.GetOutputs()["probabilities"]
	if len(label.GetStringVal()) != 1 || len(probs.GetFloatVal()) == 0 {
		return Prediction{}, fmt.Errorf("the Predict answer has no label or probabilities: %v", resp)
	}
	return Prediction{Label: string(label.GetStringVal()[0]), Probabilities: probs.GetFloatVal()}, nil
}

// inferPrediction reads label (BYTES) and probabilities (FP32) from the raw
// output contents the predictor answers raw inputs with, or from typed ones.
func inferPrediction(resp *inference.ModelInferResponse) (Prediction, error) {
	var p Prediction
	raw := resp.GetRawOutputContents()
	for i, out := range resp.GetOutputs() {
		var b []byte
		if i < len(raw) {
			b = raw[i]
		}
		switch out.GetName() {
		case "label":
			if c := out.GetContents().GetBytesContents(); len(c) > 0 {
				p.Label = string(c[0])
			} else if len(b) >= 4 && int(binary.LittleEndian.Uint32(b)) <= len(b)-4 {
				p.Label = string(b[4 : 4+binary.LittleEndian.Uint32(b)])
			}
		case "probabilities":
			p.Probabilities = out.GetContents().GetFp32Contents()
			if len(p.Probabilities) == 0 {
				for j := 0; j+4 <= len(b); j += 4 {
					p.Probabilities = append(p.Probabilities, math.Float32frombits(binary.LittleEndian.Uint32(b[j:])))
				}
			}
		}
	}
	if p.Label == "" || len(p.Probabilities) == 0 {
		return Prediction{}, fmt.Errorf("the ModelInfer answer has no label or probabilities: %v", resp)
	}
	return p, nil
}
