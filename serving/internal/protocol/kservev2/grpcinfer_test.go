package kservev2

import (
	"encoding/binary"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/servingtest"
)

// grpcInferSeeds are ModelInferRequests as tritonclient.grpc sends them
// (raw) and as typed contents, for the fuzz target's seeds.
func grpcInferSeeds() []*inference.ModelInferRequest {
	raw := binary.LittleEndian.AppendUint32(nil, uint32(len(servingtest.PNG)))
	raw = append(raw, servingtest.PNG...)
	floats := binary.LittleEndian.AppendUint32(nil, 0x3f800000)
	floats = binary.LittleEndian.AppendUint32(floats, 0x40000000)
	return []*inference.ModelInferRequest{
		{ModelName: "m", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{1}}},
			RawInputContents: [][]byte{raw}},
		{ModelName: "m", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{1},
			Contents: &inference.InferTensorContents{BytesContents: [][]byte{[]byte(servingtest.JPEG)}}}},
			Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities", Parameters: map[string]*inference.InferParameter{
				"classification": {ParameterChoice: &inference.InferParameter_Int64Param{Int64Param: 2}}}}}},
		{ModelName: "m", Inputs: []*inference.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{1, 2}}, {Name: "id", Datatype: "INT64", Shape: []int64{1}}},
			RawInputContents: [][]byte{floats, binary.LittleEndian.AppendUint64(nil, 7)}},
		{ModelName: "m", Inputs: []*inference.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{2, 2}, Contents: &inference.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}}},
			{Name: "id", Datatype: "INT64", Shape: []int64{2}, Contents: &inference.InferTensorContents{Int64Contents: []int64{1, 2}}}}},
	}
}

// FuzzGRPCInferRequest feeds arbitrary ModelInferRequest messages through
// the gRPC request-to-tensor path: it must never panic, refuse with an
// Invalid error (not Internal), and accept only tensors that are whole.
func FuzzGRPCInferRequest(f *testing.F) {
	for _, req := range grpcInferSeeds() {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	sigs := []serving.Signature{servingtest.ImageSignature(), servingtest.NumericSignature(), servingtest.TextSignature()}
	lim := limits{maxBodyBytes: 1 << 16, maxImagePixels: 1 << 20}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var req inference.ModelInferRequest
		if proto.Unmarshal(msg, &req) != nil {
			return
		}
		for _, sig := range sigs {
			p, _, err := grpcInferRequest(&req, sig, lim)
			if err != nil {
				if code := serving.ErrorCode(err); code != serving.Invalid {
					t.Fatalf("refused with %s, want invalid: %v", code, err)
				}
				continue
			}
			for k, tensor := range p.inputs {
				if err := tensor.Validate(); err != nil {
					t.Fatalf("accepted input %q that is not whole: %v", k, err)
				}
			}
		}
	})
}
