package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
)

var testImage = []byte("\xff\xd8\xff not really a JPEG")

// fakePredictor answers Predict and ModelInfer for model "m" when the one
// image_bytes element is testImage, as the predictor lays its answers out,
// and NotFound for any other model.
type fakePredictor struct {
	apis.UnimplementedPredictionServiceServer
	inference.UnimplementedGRPCInferenceServiceServer
}

func (fakePredictor) Predict(_ context.Context, req *apis.PredictRequest) (*apis.PredictResponse, error) {
	if req.GetModelSpec().GetName() != "m" {
		return nil, status.Error(codes.NotFound, "no model")
	}
	in := req.GetInputs()["image_bytes"]
	if in.GetDtype() != framework.DataType_DT_STRING || len(in.GetStringVal()) != 1 || !bytes.Equal(in.GetStringVal()[0], testImage) {
		return nil, status.Error(codes.InvalidArgument, "not the test image")
	}
	return &apis.PredictResponse{Outputs: map[string]*framework.TensorProto{
		"label":         {Dtype: framework.DataType_DT_STRING, StringVal: [][]byte{[]byte("face")}},
		"probabilities": {Dtype: framework.DataType_DT_FLOAT, FloatVal: []float32{0.75, 0.25}},
	}}, nil
}

func (fakePredictor) ModelInfer(_ context.Context, req *inference.ModelInferRequest) (*inference.ModelInferResponse, error) {
	if req.GetModelName() != "m" {
		return nil, status.Error(codes.NotFound, "no model")
	}
	want := binary.LittleEndian.AppendUint32(nil, uint32(len(testImage)))
	in := req.GetInputs()
	if len(in) != 1 || in[0].GetDatatype() != "BYTES" || len(req.GetRawInputContents()) != 1 ||
		!bytes.Equal(req.GetRawInputContents()[0], append(want, testImage...)) {
		return nil, status.Error(codes.InvalidArgument, "not the test image")
	}
	label := append(binary.LittleEndian.AppendUint32(nil, 4), "face"...)
	var probs []byte
	for _, p := range []float32{0.75, 0.25} {
		probs = binary.LittleEndian.AppendUint32(probs, math.Float32bits(p))
	}
	return &inference.ModelInferResponse{
		Outputs: []*inference.ModelInferResponse_InferOutputTensor{
			{Name: "label", Datatype: "BYTES", Shape: []int64{1}},
			{Name: "probabilities", Datatype: "FP32", Shape: []int64{1, 2}},
		},
		RawOutputContents: [][]byte{label, probs},
	}, nil
}

// serveFake serves fakePredictor on loopback and returns a target for api
// with the test image in a file.
func serveFake(t *testing.T, api, model string) GRPCTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	apis.RegisterPredictionServiceServer(s, fakePredictor{})
	inference.RegisterGRPCInferenceServiceServer(s, fakePredictor{})
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	image := filepath.Join(t.TempDir(), "image.jpg")
	if err := os.WriteFile(image, testImage, 0o600); err != nil {
		t.Fatal(err)
	}
	return GRPCTarget{Addr: ln.Addr().String(), API: api, Model: model, ImageFile: image, Conns: 2}
}

func TestGRPCClosedLoopCountsOKAs200(t *testing.T) {
	for _, api := range []string{"predict", "infer"} {
		t.Run(api, func(t *testing.T) {
			do, err := serveFake(t, api, "m").Caller(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := run(do, 4, 200*time.Millisecond, 300*time.Millisecond)
			if r.Requests == 0 || r.Errors != 0 || r.Statuses["200"] != r.Requests {
				t.Fatalf("got %d requests, %d errors, statuses %v (first error %q); want only 200s",
					r.Requests, r.Errors, r.Statuses, r.FirstError)
			}
			if r.P99ms <= 0 {
				t.Errorf("p99 %v ms, want > 0", r.P99ms)
			}
		})
	}
}

func TestGRPCErrorCodesCountByName(t *testing.T) {
	do, err := serveFake(t, "infer", "nope").Caller(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := run(do, 2, 200*time.Millisecond, 300*time.Millisecond) // the warm-up covers dialing
	if r.Errors == 0 || r.Statuses["NotFound"] != r.Errors || r.Requests != 0 {
		t.Fatalf("statuses %v, errors %d, requests %d: want every call NotFound", r.Statuses, r.Errors, r.Requests)
	}
}

func TestGRPCUnreachableIsATransportError(t *testing.T) {
	g := serveFake(t, "predict", "m")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.Addr = ln.Addr().String()
	ln.Close() // nothing listens there now
	do, err := g.Caller(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s := do(context.Background()); s.err == nil || s.status != "" {
		t.Fatalf("got status %q, err %v: want a transport error", s.status, s.err)
	}
}

func TestGRPCOpenLoop(t *testing.T) {
	do, err := serveFake(t, "predict", "m").Caller(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Room for every request in flight at once: on a loaded machine none is dropped.
	o := OpenLoop{Rate: 200, Arrival: "constant", MaxInFlight: 64, Warmup: 200 * time.Millisecond, Duration: 200 * time.Millisecond, Seed: 1}
	r, err := o.Run(do)
	if err != nil {
		t.Fatal(err)
	}
	if r.Scheduled != 40 || r.OK != r.Sent || r.OK == 0 || r.Errors != 0 {
		t.Fatalf("scheduled %d, sent %d, ok %d, errors %d (%v): want 40 scheduled, every one sent answered OK",
			r.Scheduled, r.Sent, r.OK, r.Errors, r.Statuses)
	}
}

func TestGRPCCheckDecodesBothAPIs(t *testing.T) {
	for _, api := range []string{"predict", "infer"} {
		t.Run(api, func(t *testing.T) {
			p, err := serveFake(t, api, "m").Check(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if p.Label != "face" || len(p.Probabilities) != 2 || p.Probabilities[0] != 0.75 {
				t.Fatalf("got %+v, want face [0.75 0.25]", p)
			}
		})
	}
}
