package tfserving_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/example"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	tfproto "github.com/imgclf/serving/internal/gen/tensorflow/core/protobuf"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
	"github.com/imgclf/serving/internal/grpcserver"
	"github.com/imgclf/serving/internal/grpcserver/grpctest"
	"github.com/imgclf/serving/internal/protocol/tfserving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/servingtest"
)

// startGRPC serves model as imgclf version 1 (labelled "stable") over TF
// Serving's gRPC API on a loopback port, through the real gRPC assembly.
func startGRPC(t *testing.T, model serving.Model) *grpc.ClientConn {
	t.Helper()
	reg := registry.New()
	reg.Publish("imgclf", 1, registry.Loaded{Model: model, Labels: []string{"other", "png"}})
	reg.SetVersionLabels("imgclf", map[string]int64{"stable": 1})
	api := tfserving.New(tfserving.Options{Registry: reg, MaxBodyBytes: 1 << 20, MaxImagePixels: 1 << 20})
	s := grpcserver.New(grpcserver.Options{Registry: reg, Register: []func(grpc.ServiceRegistrar){api.GRPC().Register}})
	return grpctest.Dial(t, s)
}

func images(elems ...string) *framework.TensorProto {
	t := &framework.TensorProto{Dtype: framework.DataType_DT_STRING,
		TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: int64(len(elems))}}}}
	for _, e := range elems {
		t.StringVal = append(t.StringVal, []byte(e))
	}
	return t
}

func TestGRPCPredict(t *testing.T) {
	client := apis.NewPredictionServiceClient(startGRPC(t, servingtest.NewImageModel()))
	resp, err := client.Predict(context.Background(), &apis.PredictRequest{
		ModelSpec:    &apis.ModelSpec{Name: "imgclf", VersionChoice: &apis.ModelSpec_VersionLabel{VersionLabel: "stable"}},
		Inputs:       map[string]*framework.TensorProto{"image_bytes": images(servingtest.PNG, servingtest.JPEG)},
		OutputFilter: []string{"probabilities", "label"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ModelSpec.GetVersion().GetValue() != 1 || resp.ModelSpec.SignatureName != "serving_default" || len(resp.Outputs) != 2 {
		t.Fatalf("reply = %v", resp)
	}
	p := resp.Outputs["probabilities"]
	if p.Dtype != framework.DataType_DT_FLOAT || len(p.TensorShape.Dim) != 2 || p.TensorShape.Dim[1].Size != 2 ||
		len(p.FloatVal) != 4 || p.FloatVal[1] != 0.9 || p.FloatVal[2] != 0.9 {
		t.Errorf("probabilities = %v", p)
	}
	if l := resp.Outputs["label"]; string(l.StringVal[0]) != "png" || string(l.StringVal[1]) != "other" {
		t.Errorf("label = %v", l)
	}
}

func TestGRPCPredictErrors(t *testing.T) {
	client := apis.NewPredictionServiceClient(startGRPC(t, servingtest.NewImageModel()))
	spec := &apis.ModelSpec{Name: "imgclf"}
	tests := map[string]struct {
		req  *apis.PredictRequest
		code codes.Code
		want string
	}{
		"unknown model": {&apis.PredictRequest{ModelSpec: &apis.ModelSpec{Name: "nope"}}, codes.NotFound, `model "nope" not found`},
		"unknown version": {&apis.PredictRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf",
			VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(7)}}}, codes.NotFound, "has no version 7"},
		"unknown label": {&apis.PredictRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf",
			VersionChoice: &apis.ModelSpec_VersionLabel{VersionLabel: "canary"}}}, codes.NotFound, "canary"},
		"other signature": {&apis.PredictRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf", SignatureName: "x"}}, codes.InvalidArgument,
			`signature "x" is not served`},
		"not an image": {&apis.PredictRequest{ModelSpec: spec, Inputs: map[string]*framework.TensorProto{
			"image_bytes": images(servingtest.PNG, "hello")}}, codes.InvalidArgument, "element 1"},
		"missing input": {&apis.PredictRequest{ModelSpec: spec}, codes.InvalidArgument, `missing input "image_bytes"`},
		"unknown input": {&apis.PredictRequest{ModelSpec: spec, Inputs: map[string]*framework.TensorProto{"x": images("a")}},
			codes.InvalidArgument, `unknown input "x"`},
		"wrong dtype": {&apis.PredictRequest{ModelSpec: spec, Inputs: map[string]*framework.TensorProto{"image_bytes": {
			Dtype: framework.DataType_DT_FLOAT, FloatVal: []float32{1}}}}, codes.InvalidArgument, "dtype DT_FLOAT does not match the model's DT_STRING"},
		"count mismatch": {&apis.PredictRequest{ModelSpec: spec, Inputs: map[string]*framework.TensorProto{"image_bytes": {
			Dtype: framework.DataType_DT_STRING, TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 3}}},
			StringVal: [][]byte{[]byte(servingtest.PNG)}}}}, codes.InvalidArgument, "holds 1 values; shape [3] needs 3"},
		"unknown output_filter": {&apis.PredictRequest{ModelSpec: spec, Inputs: map[string]*framework.TensorProto{
			"image_bytes": images(servingtest.PNG)}, OutputFilter: []string{"x"}}, codes.InvalidArgument, `unknown output "x"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := client.Predict(context.Background(), tt.req)
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.want) {
				t.Errorf("err = %v %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.want)
			}
		})
	}
}

func imageExample(img string) *example.Example {
	return &example.Example{Features: &example.Features{Feature: map[string]*example.Feature{
		"image_bytes": {Kind: &example.Feature_BytesList{BytesList: &example.BytesList{Value: [][]byte{[]byte(img)}}}}}}}
}

func TestGRPCClassify(t *testing.T) {
	client := apis.NewPredictionServiceClient(startGRPC(t, servingtest.NewImageModel()))
	resp, err := client.Classify(context.Background(), &apis.ClassificationRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf"},
		Input: &apis.Input{Kind: &apis.Input_ExampleList{ExampleList: &apis.ExampleList{
			Examples: []*example.Example{imageExample(servingtest.PNG), imageExample(servingtest.JPEG)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cl := resp.Result.Classifications
	if len(cl) != 2 || cl[0].Classes[0].Label != "png" || cl[0].Classes[0].Score != 0.9 || cl[1].Classes[0].Label != "other" || len(cl[1].Classes) != 2 {
		t.Errorf("classifications = %v", cl)
	}

	_, err = client.Classify(context.Background(), &apis.ClassificationRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf"},
		Input: &apis.Input{Kind: &apis.Input_ExampleList{ExampleList: &apis.ExampleList{
			Examples: []*example.Example{imageExample("hello")}}}}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), `examples[0] feature "image_bytes"`) {
		t.Errorf("non-image example: %v %q", st.Code(), st.Message())
	}

	// A model with no scores output: the REST :classify error.
	text := &servingtest.FakeModel{Sig: servingtest.TextSignature()}
	text.Sig.Outputs = map[string]serving.TensorInfo{"ids": {DType: serving.DTInt64, Shape: []int64{-1}}}
	client = apis.NewPredictionServiceClient(startGRPC(t, text))
	_, err = client.Classify(context.Background(), &apis.ClassificationRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf"}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument {
		t.Errorf("classify on a model with no scores: %v %q, want InvalidArgument", st.Code(), st.Message())
	}
}

func TestGRPCMetadataAndStatus(t *testing.T) {
	conn := startGRPC(t, servingtest.NewImageModel())
	md, err := apis.NewPredictionServiceClient(conn).GetModelMetadata(context.Background(), &apis.GetModelMetadataRequest{
		ModelSpec: &apis.ModelSpec{Name: "imgclf"}, MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Fatal(err)
	}
	var defs apis.SignatureDefMap
	if err := md.Metadata["signature_def"].UnmarshalTo(&defs); err != nil {
		t.Fatal(err)
	}
	sig := defs.SignatureDef["serving_default"]
	in := sig.GetInputs()["image_bytes"]
	if sig.MethodName != "tensorflow/serving/predict" || in.GetDtype() != framework.DataType_DT_STRING || in.GetName() != "serving_default_image_bytes:0" ||
		in.GetTensorShape().GetDim()[0].GetSize() != -1 || len(sig.Outputs) != 3 {
		t.Errorf("signature_def = %v", sig)
	}
	if _, err := apis.NewPredictionServiceClient(conn).GetModelMetadata(context.Background(), &apis.GetModelMetadataRequest{
		ModelSpec: &apis.ModelSpec{Name: "imgclf"}, MetadataField: []string{"graph"}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("metadata_field graph: %v, want InvalidArgument", err)
	}

	st, err := apis.NewModelServiceClient(conn).GetModelStatus(context.Background(), &apis.GetModelStatusRequest{ModelSpec: &apis.ModelSpec{Name: "imgclf"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ModelVersionStatus) != 1 || st.ModelVersionStatus[0].Version != 1 || st.ModelVersionStatus[0].State != apis.ModelVersionStatus_AVAILABLE ||
		st.ModelVersionStatus[0].Status.ErrorCode != tfproto.Code_OK {
		t.Errorf("status = %v", st)
	}
	_, err = apis.NewModelServiceClient(conn).GetModelStatus(context.Background(), &apis.GetModelStatusRequest{ModelSpec: &apis.ModelSpec{Name: "nope"}})
	if s := status.Convert(err); s.Code() != codes.NotFound || !strings.Contains(s.Message(), `"nope"`) {
		t.Errorf("unknown model status: %v %q", s.Code(), s.Message())
	}
}
