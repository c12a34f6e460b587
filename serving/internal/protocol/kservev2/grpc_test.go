package kservev2_test

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/grpcserver"
	"github.com/imgclf/serving/internal/grpcserver/grpctest"
	"github.com/imgclf/serving/internal/protocol/kservev2"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/servingtest"
)

// startGRPC serves the fake image model's v2 gRPC service on a loopback
// port, through the real gRPC assembly.
func startGRPC(t *testing.T) inference.GRPCInferenceServiceClient {
	t.Helper()
	reg := registry.New()
	reg.Publish("imgclf", 1, registry.Loaded{Model: servingtest.NewImageModel(), Labels: []string{"other", "png"}})
	api := kservev2.New(kservev2.Options{Registry: reg, MaxBodyBytes: 1 << 20, MaxImagePixels: 1 << 20, ServerName: "test", ServerVersion: "v"})
	s := grpcserver.New(grpcserver.Options{Registry: reg, Register: []func(grpc.ServiceRegistrar){api.GRPC().Register}})
	return inference.NewGRPCInferenceServiceClient(grpctest.Dial(t, s))
}

func TestGRPCLivenessReadinessMetadata(t *testing.T) {
	client := startGRPC(t)
	ctx := context.Background()
	if r, err := client.ServerLive(ctx, &inference.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive = %v, %v", r, err)
	}
	if r, err := client.ServerReady(ctx, &inference.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady = %v, %v", r, err)
	}
	if r, err := client.ModelReady(ctx, &inference.ModelReadyRequest{Name: "imgclf", Version: "1"}); err != nil || !r.Ready {
		t.Errorf("ModelReady(imgclf/1) = %v, %v", r, err)
	}
	if r, err := client.ModelReady(ctx, &inference.ModelReadyRequest{Name: "imgclf", Version: "7"}); err != nil || r.Ready {
		t.Errorf("ModelReady(imgclf/7) = %v, %v; want not ready", r, err)
	}
	if _, err := client.ModelReady(ctx, &inference.ModelReadyRequest{Name: "imgclf", Version: "x"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ModelReady(version x) err = %v, want InvalidArgument", err)
	}
	if r, err := client.ServerMetadata(ctx, &inference.ServerMetadataRequest{}); err != nil || r.Name != "test" || r.Version != "v" {
		t.Errorf("ServerMetadata = %v, %v", r, err)
	}
	md, err := client.ModelMetadata(ctx, &inference.ModelMetadataRequest{Name: "imgclf"})
	if err != nil || md.Platform != "tensorflow_savedmodel" || md.Inputs[0].Name != "image_bytes" || md.Inputs[0].Datatype != "BYTES" {
		t.Errorf("ModelMetadata = %v, %v", md, err)
	}
}

// rawBytes is a BYTES tensor in Triton's raw format, as tritonclient sends it.
func rawBytes(elems ...string) []byte {
	var b []byte
	for _, e := range elems {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func TestGRPCModelInfer(t *testing.T) {
	client := startGRPC(t)
	ctx := context.Background()
	img := &inference.ModelInferRequest_InferInputTensor{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{2}}

	// Raw in, raw out (as Triton answers tritonclient), with the classification extension.
	resp, err := client.ModelInfer(ctx, &inference.ModelInferRequest{ModelName: "imgclf", Id: "r1",
		Inputs: []*inference.ModelInferRequest_InferInputTensor{img}, RawInputContents: [][]byte{rawBytes(servingtest.PNG, servingtest.JPEG)},
		Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{
			{Name: "probabilities", Parameters: map[string]*inference.InferParameter{
				"classification": {ParameterChoice: &inference.InferParameter_Int64Param{Int64Param: 1}}}},
			{Name: "class_id"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Id != "r1" || resp.ModelVersion != "1" || len(resp.Outputs) != 2 || len(resp.RawOutputContents) != 2 {
		t.Fatalf("raw reply = %v", resp)
	}
	if got, want := string(resp.RawOutputContents[0]), string(rawBytes("0.9:1:png", "0.9:0:other")); got != want {
		t.Errorf("classification = %q, want %q", got, want)
	}
	if o := resp.Outputs[1]; o.Datatype != "INT64" || len(o.Shape) != 1 || o.Shape[0] != 2 || len(resp.RawOutputContents[1]) != 16 {
		t.Errorf("class_id = %v %x", o, resp.RawOutputContents[1])
	}

	// Typed in, typed out.
	typed := &inference.ModelInferRequest_InferInputTensor{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{1},
		Contents: &inference.InferTensorContents{BytesContents: [][]byte{[]byte(servingtest.PNG)}}}
	resp, err = client.ModelInfer(ctx, &inference.ModelInferRequest{ModelName: "imgclf",
		Inputs: []*inference.ModelInferRequest_InferInputTensor{typed}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.RawOutputContents) != 0 || len(resp.Outputs) != 3 || resp.Outputs[1].Name != "label" ||
		string(resp.Outputs[1].Contents.BytesContents[0]) != "png" || resp.Outputs[2].Contents.Fp32Contents[1] != 0.9 {
		t.Errorf("typed reply = %v", resp)
	}
}

func TestGRPCModelInferErrors(t *testing.T) {
	client := startGRPC(t)
	img := func(shape int64) []*inference.ModelInferRequest_InferInputTensor {
		return []*inference.ModelInferRequest_InferInputTensor{{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{shape}}}
	}
	tests := map[string]struct {
		req  *inference.ModelInferRequest
		code codes.Code
		want string
	}{
		"unknown model":   {&inference.ModelInferRequest{ModelName: "nope"}, codes.NotFound, `model "nope" not found`},
		"unknown version": {&inference.ModelInferRequest{ModelName: "imgclf", ModelVersion: "7"}, codes.NotFound, "has no version 7"},
		"not an image": {&inference.ModelInferRequest{ModelName: "imgclf", Inputs: img(2),
			RawInputContents: [][]byte{rawBytes(servingtest.PNG, "hello")}}, codes.InvalidArgument, "element 1"},
		"raw count": {&inference.ModelInferRequest{ModelName: "imgclf", Inputs: img(1),
			RawInputContents: [][]byte{rawBytes(servingtest.PNG), nil}}, codes.InvalidArgument, "2 raw_input_contents for 1 inputs"},
		"short raw": {&inference.ModelInferRequest{ModelName: "imgclf", Inputs: img(2),
			RawInputContents: [][]byte{rawBytes(servingtest.PNG)}}, codes.InvalidArgument, "binary data ends inside element 1"},
		"contents of another type": {&inference.ModelInferRequest{ModelName: "imgclf", Inputs: []*inference.ModelInferRequest_InferInputTensor{
			{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{1}, Contents: &inference.InferTensorContents{Fp32Contents: []float32{1}}}}},
			codes.InvalidArgument, `contents hold FP32 values but the datatype is "BYTES"`},
		"no inputs": {&inference.ModelInferRequest{ModelName: "imgclf"}, codes.InvalidArgument, `"inputs" is empty`},
		"unknown output": {&inference.ModelInferRequest{ModelName: "imgclf", Inputs: img(1), RawInputContents: [][]byte{rawBytes(servingtest.PNG)},
			Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "x"}}}, codes.InvalidArgument, `unknown output "x"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := client.ModelInfer(context.Background(), tt.req)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.want) {
				t.Errorf("err = %v %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.want)
			}
		})
	}
}
