package tfserving

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/apierror"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/example"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	tfproto "github.com/imgclf/serving/internal/gen/tensorflow/core/protobuf"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
	"github.com/imgclf/serving/internal/inputcodec"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
	"github.com/imgclf/serving/internal/scores"
)

// GRPC is TF Serving's gRPC API over the same registry as the REST one:
// tensorflow.serving.PredictionService (Predict, Classify,
// GetModelMetadata) and ModelService.GetModelStatus.
type GRPC struct {
	apis.UnimplementedPredictionServiceServer
	api *API
}

// modelService is ModelService, a second service on the same API.
type modelService struct {
	apis.UnimplementedModelServiceServer
	api *API
}

// GRPC returns the API's gRPC front end.
func (a *API) GRPC() *GRPC { return &GRPC{api: a} }

// Register adds PredictionService and ModelService to s.
func (g *GRPC) Register(s grpc.ServiceRegistrar) {
	apis.RegisterPredictionServiceServer(s, g)
	apis.RegisterModelServiceServer(s, &modelService{api: g.api})
}

// fail records err for the access log and returns it as a gRPC status.
func fail(ctx context.Context, err error) error {
	reqinfo.SetError(ctx, err)
	return apierror.GRPCError(err)
}

// specRef is a ModelSpec's model version: version, version_label or the
// latest, as the REST paths' /versions/{v} and /labels/{l}.
func specRef(ctx context.Context, spec *apis.ModelSpec, endpoint string) (rest.Ref, error) {
	ref := rest.Ref{Model: spec.GetName(), Version: registry.Latest, Label: spec.GetVersionLabel()}
	if v := spec.GetVersion(); v != nil {
		if v.GetValue() < 0 {
			reqinfo.Annotate(ctx, ref.Model, registry.Latest, endpoint)
			return ref, serving.Errorf(serving.Invalid, "model_spec.version %d is negative", v.GetValue())
		}
		ref.Version = v.GetValue()
	}
	reqinfo.Annotate(ctx, ref.Model, ref.Version, endpoint)
	if ref.Model == "" {
		return ref, serving.Errorf(serving.Invalid, "model_spec.name is empty; name the model")
	}
	return ref, nil
}

func (g *GRPC) lease(ctx context.Context, spec *apis.ModelSpec, endpoint string) (*registry.Lease, error) {
	ref, err := specRef(ctx, spec, endpoint)
	if err != nil {
		return nil, err
	}
	return rest.LeaseRef(ctx, g.api.registry, ref)
}

// servedSpec is the ModelSpec a reply names: the model, the version that
// served and the signature.
func servedSpec(name string, lease *registry.Lease) *apis.ModelSpec {
	return &apis.ModelSpec{Name: name, SignatureName: lease.Model.Signature().Name,
		VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(lease.Version)}}
}

// Predict is :predict over gRPC: TensorProto inputs (typed values or
// tensor_content), output_filter picking outputs.
func (g *GRPC) Predict(ctx context.Context, req *apis.PredictRequest) (*apis.PredictResponse, error) {
	lease, err := g.lease(ctx, req.GetModelSpec(), "grpc_predict")
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer lease.Release()
	sig := lease.Model.Signature()
	if err := checkSignatureName(req.GetModelSpec().GetSignatureName(), sig); err != nil {
		return nil, fail(ctx, err)
	}
	inputs, err := protoInputs(req.GetInputs(), sig, g.api.limits)
	if err != nil {
		return nil, fail(ctx, err)
	}
	keys := req.GetOutputFilter()
	for _, k := range keys {
		if _, ok := sig.Outputs[k]; !ok {
			return nil, fail(ctx, serving.Errorf(serving.Invalid, "output_filter: unknown output %q; the model has %s", k, inputcodec.Names(sig.Outputs)))
		}
	}
	outputs, err := lease.Model.Predict(ctx, inputs)
	if err != nil {
		return nil, fail(ctx, err)
	}
	if len(keys) == 0 {
		keys = slices.Sorted(maps.Keys(outputs))
	}
	resp := &apis.PredictResponse{ModelSpec: servedSpec(req.GetModelSpec().GetName(), lease), Outputs: map[string]*framework.TensorProto{}}
	for _, k := range keys {
		t := outputs[k]
		if t == nil {
			return nil, fail(ctx, serving.Errorf(serving.Internal, "the model returned no output %q", k))
		}
		if err := t.Validate(); err != nil {
			return nil, fail(ctx, serving.Errorf(serving.Internal, "model output %q: %v", k, err))
		}
		resp.Outputs[k] = tensorProto(t)
	}
	return resp, nil
}

// protoInputs decodes a PredictRequest's inputs against sig: every
// signature input once, no other.
func protoInputs(in map[string]*framework.TensorProto, sig serving.Signature, lim limits) (map[string]*serving.Tensor, error) {
	inputs := make(map[string]*serving.Tensor, len(in))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		info, ok := sig.Inputs[k]
		if !ok {
			return nil, serving.Errorf(serving.Invalid, "unknown input %q; the model takes %s", k, inputcodec.Names(sig.Inputs))
		}
		t, err := tensorFromProto(in[k], inputcodec.New(k, info, lim.maxImagePixels), lim.maxBodyBytes)
		if err != nil {
			return nil, inputcodec.PrefixError(fmt.Sprintf("input %q", k), err)
		}
		inputs[k] = t
	}
	for _, k := range slices.Sorted(maps.Keys(sig.Inputs)) {
		if inputs[k] == nil {
			return nil, serving.Errorf(serving.Invalid, "missing input %q; the model takes %s", k, inputcodec.Names(sig.Inputs))
		}
	}
	return inputs, nil
}

// Classify is :classify over gRPC: tf.Examples whose features are the
// signature's inputs (an image bytes feature for the image model), every
// class of every example, best first.
func (g *GRPC) Classify(ctx context.Context, req *apis.ClassificationRequest) (*apis.ClassificationResponse, error) {
	lease, err := g.lease(ctx, req.GetModelSpec(), "grpc_classify")
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer lease.Release()
	sig := lease.Model.Signature()
	scoresKey, err := scores.Output(sig)
	if err != nil {
		return nil, fail(ctx, err)
	}
	if err := checkSignatureName(req.GetModelSpec().GetSignatureName(), sig); err != nil {
		return nil, fail(ctx, err)
	}
	inputs, err := exampleInputs(req.GetInput(), sig, g.api.limits)
	if err != nil {
		return nil, fail(ctx, err)
	}
	rows, err := scores.Predict(ctx, lease.Model, inputs, scoresKey)
	if err != nil {
		return nil, fail(ctx, err)
	}
	result := &apis.ClassificationResult{}
	for _, row := range rows {
		cl := &apis.Classifications{}
		for _, c := range scores.TopK(row, 0, lease.Labels) {
			cl.Classes = append(cl.Classes, &apis.Class{Label: c.Name(), Score: c.Score})
		}
		result.Classifications = append(result.Classifications, cl)
	}
	return &apis.ClassificationResponse{ModelSpec: servedSpec(req.GetModelSpec().GetName(), lease), Result: result}, nil
}

// exampleInputs turns examples (with the context's features shared by
// each) into one tensor per signature input, a row per example: a feature
// of one value gives shape [n], of k values [n, k].
func exampleInputs(in *apis.Input, sig serving.Signature, lim limits) (map[string]*serving.Tensor, error) {
	examples, shared := in.GetExampleList().GetExamples(), (*example.Example)(nil)
	if l := in.GetExampleListWithContext(); l != nil {
		examples, shared = l.GetExamples(), l.GetContext()
	}
	if len(examples) == 0 {
		return nil, serving.Errorf(serving.Invalid, "input holds no examples; send at least one tf.Example with the features %s", inputcodec.Names(sig.Inputs))
	}
	inputs := map[string]*serving.Tensor{}
	for _, k := range slices.Sorted(maps.Keys(sig.Inputs)) {
		info := sig.Inputs[k]
		codec := inputcodec.New(k, info, lim.maxImagePixels)
		t := &serving.Tensor{DType: info.DType}
		width := -1
		for i, ex := range examples {
			f := ex.GetFeatures().GetFeature()[k]
			if cf := shared.GetFeatures().GetFeature()[k]; cf != nil {
				if f != nil {
					return nil, serving.Errorf(serving.Invalid, "examples[%d]: feature %q is also in context", i, k)
				}
				f = cf
			}
			if f == nil {
				return nil, serving.Errorf(serving.Invalid, "examples[%d]: missing feature %q; the model takes %s", i, k, inputcodec.Names(sig.Inputs))
			}
			n, err := appendFeature(t, f, codec)
			if err != nil {
				return nil, inputcodec.PrefixError(fmt.Sprintf("examples[%d] feature %q", i, k), err)
			}
			if width >= 0 && n != width {
				return nil, serving.Errorf(serving.Invalid, "examples[%d]: feature %q has %d values, examples[0] has %d", i, k, n, width)
			}
			width = n
		}
		t.Shape = []int64{int64(len(examples))}
		if width != 1 || len(info.Shape) > 1 {
			t.Shape = append(t.Shape, int64(width))
		}
		if !info.Accepts(t.Shape) {
			return nil, serving.Errorf(serving.Invalid, "feature %q: shape %v does not match the model's %v (-1 = any size)", k, t.Shape, info.Shape)
		}
		inputs[k] = t
	}
	return inputs, nil
}

// appendFeature adds a feature's values to t, which must be its list kind.
func appendFeature(t *serving.Tensor, f *example.Feature, codec inputcodec.Codec) (int, error) {
	switch t.DType {
	case serving.DTString:
		vals := f.GetBytesList().GetValue()
		if f.GetBytesList() == nil {
			return 0, serving.Errorf(serving.Invalid, "want a bytes_list for the model's %s", t.DType)
		}
		for j, v := range vals {
			if err := codec.Check(v); err != nil {
				return 0, inputcodec.PrefixError(fmt.Sprintf("value %d", j), err)
			}
		}
		t.Strings = append(t.Strings, vals...)
		return len(vals), nil
	case serving.DTFloat:
		if f.GetFloatList() == nil {
			return 0, serving.Errorf(serving.Invalid, "want a float_list for the model's %s", t.DType)
		}
		t.Float32 = append(t.Float32, f.GetFloatList().GetValue()...)
		return len(f.GetFloatList().GetValue()), nil
	case serving.DTInt64:
		if f.GetInt64List() == nil {
			return 0, serving.Errorf(serving.Invalid, "want an int64_list for the model's %s", t.DType)
		}
		t.Int64 = append(t.Int64, f.GetInt64List().GetValue()...)
		return len(f.GetInt64List().GetValue()), nil
	}
	return 0, serving.Errorf(serving.Invalid, "a tf.Example cannot carry the model's %s input", t.DType)
}

// GetModelMetadata answers metadata_field "signature_def" with the served
// signature as a SignatureDefMap, as TF Serving does.
func (g *GRPC) GetModelMetadata(ctx context.Context, req *apis.GetModelMetadataRequest) (*apis.GetModelMetadataResponse, error) {
	lease, err := g.lease(ctx, req.GetModelSpec(), "grpc_metadata")
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer lease.Release()
	fields := req.GetMetadataField()
	if len(fields) != 1 || fields[0] != "signature_def" {
		return nil, fail(ctx, serving.Errorf(serving.Invalid, `metadata_field %q: only ["signature_def"] is served`, fields))
	}
	sig := lease.Model.Signature()
	defs := &apis.SignatureDefMap{SignatureDef: map[string]*tfproto.SignatureDef{sig.Name: {
		Inputs: tensorInfoProtos(sig.Inputs), Outputs: tensorInfoProtos(sig.Outputs), MethodName: sig.MethodName}}}
	packed, err := anypb.New(defs)
	if err != nil {
		return nil, fail(ctx, serving.Errorf(serving.Internal, "encoding the signature: %v", err))
	}
	return &apis.GetModelMetadataResponse{ModelSpec: servedSpec(req.GetModelSpec().GetName(), lease),
		Metadata: map[string]*anypb.Any{"signature_def": packed}}, nil
}

func tensorInfoProtos(in map[string]serving.TensorInfo) map[string]*tfproto.TensorInfo {
	out := make(map[string]*tfproto.TensorInfo, len(in))
	for k, info := range in {
		dims := make([]*framework.TensorShapeProto_Dim, len(info.Shape))
		for i, d := range info.Shape {
			dims[i] = &framework.TensorShapeProto_Dim{Size: d}
		}
		out[k] = &tfproto.TensorInfo{Encoding: &tfproto.TensorInfo_Name{Name: info.Name}, Dtype: framework.DataType(info.DType),
			TensorShape: &framework.TensorShapeProto{Dim: dims, UnknownRank: info.UnknownRank}}
	}
	return out
}

// GetModelStatus is GET /v1/models/{name}[/versions/{v}] over gRPC.
func (m *modelService) GetModelStatus(ctx context.Context, req *apis.GetModelStatusRequest) (*apis.GetModelStatusResponse, error) {
	ref, err := specRef(ctx, req.GetModelSpec(), "grpc_status")
	if err != nil {
		return nil, fail(ctx, err)
	}
	version := ref.Version
	if ref.Label != "" {
		if version, err = m.api.registry.ResolveLabel(ref.Model, ref.Label); err != nil {
			return nil, fail(ctx, err)
		}
	}
	statuses, err := m.api.registry.Status(ref.Model, version)
	if err != nil {
		return nil, fail(ctx, err)
	}
	reqinfo.MarkResolved(ctx)
	resp := &apis.GetModelStatusResponse{}
	for _, st := range statuses {
		status := &apis.StatusProto{ErrorCode: tfproto.Code_OK}
		if st.Err != nil {
			status = &apis.StatusProto{ErrorCode: tfproto.Code_UNKNOWN, ErrorMessage: st.Err.Error()}
		}
		resp.ModelVersionStatus = append(resp.ModelVersionStatus, &apis.ModelVersionStatus{Version: st.Version,
			State: apis.ModelVersionStatus_State(apis.ModelVersionStatus_State_value[string(st.State)]), Status: status})
	}
	return resp, nil
}
