package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
)

// GRPCTarget is the predictor's gRPC predict call: TF Serving's Predict
// ("predict": a DT_STRING tensor image_bytes of one element) or KServe v2's
// ModelInfer ("infer": one BYTES input image_bytes in raw_input_contents, as
// tritonclient.grpc sends it), with one image.
type GRPCTarget struct {
	Addr      string // host:port
	API       string // "predict" or "infer"
	Model     string
	ImageFile string
	Conns     int // client connections the calls are spread over; HTTP/2 multiplexes each
}

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

// Caller sends the one prepared request round-robin over the connections;
// each call is bounded by timeout. OK counts as status "200", any other code
// by its name (e.g. "InvalidArgument"), as HTTP statuses count by number.
func (g GRPCTarget) Caller(timeout time.Duration) (Caller, error) {
	image, err := os.ReadFile(g.ImageFile)
	if err != nil {
		return nil, err
	}
	req, err := Request(g.API, g.Model, image)
	if err != nil {
		return nil, err
	}
	conns, err := Dial(g.Addr, g.Conns, len(req)+1024)
	if err != nil {
		return nil, err
	}
	return grpcCaller(conns, Method[g.API], Frame(req), timeout), nil
}

func grpcCaller(conns []*grpc.ClientConn, method string, req Frame, timeout time.Duration) Caller {
	var next atomic.Uint64
	codec := grpc.ForceCodec(RawCodec{})
	return func(ctx context.Context) sample {
		cc := conns[next.Add(1)%uint64(len(conns))]
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var reply Frame
		t0 := time.Now()
		err := cc.Invoke(ctx, method, req, &reply, codec)
		s := sample{done: time.Now(), latency: time.Since(t0)}
		switch st, _ := status.FromError(err); {
		case err == nil:
			s.status = "200"
		case st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled:
			s.err = err // no answer from the server: a transport error, as in the HTTP mode
		default:
			s.status = st.Code().String()
		}
		return s
	}
}

// Prediction is one call's answer, decoded: what bench/run.py checks before
// it measures a server.
type Prediction struct {
	Label         string    `json:"label"`
	Probabilities []float32 `json:"probabilities"`
}

// Check makes one call with the generated stubs and decodes its prediction.
func (g GRPCTarget) Check(timeout time.Duration) (Prediction, error) {
	image, err := os.ReadFile(g.ImageFile)
	if err != nil {
		return Prediction{}, err
	}
	conns, err := Dial(g.Addr, 1, math.MaxInt32)
	if err != nil {
		return Prediction{}, err
	}
	defer conns[0].Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch g.API {
	case "predict":
		resp, err := apis.NewPredictionServiceClient(conns[0]).Predict(ctx, PredictRequest(g.Model, image))
		if err != nil {
			return Prediction{}, err
		}
		return predictPrediction(resp)
	case "infer":
		resp, err := inference.NewGRPCInferenceServiceClient(conns[0]).ModelInfer(ctx, InferRequest(g.Model, image))
		if err != nil {
			return Prediction{}, err
		}
		return inferPrediction(resp)
	}
	return Prediction{}, fmt.Errorf("api %q: want predict or infer", g.API)
}

func predictPrediction(resp *apis.PredictResponse) (Prediction, error) {
	label, probs := resp.GetOutputs()["label"], resp.GetOutputs()["probabilities"]
	if len(label.GetStringVal()) != 1 || len(probs.GetFloatVal()) == 0 {
		return Prediction{}, fmt.Errorf("Predict answered no label or probabilities: %v", resp)
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
		return Prediction{}, fmt.Errorf("ModelInfer answered no label or probabilities: %v", resp)
	}
	return p, nil
}
