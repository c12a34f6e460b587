package kservev2

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/gen/kservev2/inference"
)

// ModelInfer is POST /v2/models/{name}[/versions/{v}]/infer over gRPC: the
// same parsing, checks (imagecheck on image inputs) and prediction, with
// the inputs as typed contents or raw_input_contents (tritonclient sends
// raw), and the outputs raw when the inputs were, as Triton answers.
func (g *GRPC) ModelInfer(ctx context.Context, in *inference.ModelInferRequest) (*inference.ModelInferResponse, error) {
	lease, err := g.lease(ctx, in.GetModelName(), in.GetModelVersion(), "grpc_model_infer")
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer lease.Release()
	req, raw, err := grpcInferRequest(in, lease.Model.Signature(), g.api.limits)
	if err != nil {
		return nil, fail(ctx, err)
	}
	outputs, err := lease.Model.Predict(ctx, req.inputs)
	if err != nil {
		return nil, fail(ctx, err)
	}
	selected, err := v2Outputs(req, lease, outputs)
	if err != nil {
		return nil, fail(ctx, err)
	}
	resp := &inference.ModelInferResponse{ModelName: in.GetModelName(), ModelVersion: strconv.FormatInt(lease.Version, 10), Id: req.id}
	for _, o := range selected {
		out := &inference.ModelInferResponse_InferOutputTensor{Name: o.name, Datatype: v2Datatype(o.tensor.DType), Shape: o.tensor.Shape}
		if raw {
			resp.RawOutputContents = append(resp.RawOutputContents, v2Binary(o.tensor))
		} else {
			out.Contents = grpcContents(o.tensor)
		}
		resp.Outputs = append(resp.Outputs, out)
	}
	return resp, nil
}

// grpcInferRequest turns a ModelInferRequest into the request the REST
// front end decodes from JSON plus binary data, so both take one path
// (parseV2Inputs): raw_input_contents are already Triton's binary format,
// and typed contents are written in it. It reports whether the inputs
// were raw.
func grpcInferRequest(in *inference.ModelInferRequest, sig serving.Signature, lim limits) (*v2Parsed, bool, error) {
	raw := len(in.GetRawInputContents()) > 0
	if raw && len(in.GetRawInputContents()) != len(in.GetInputs()) {
		return nil, false, serving.Errorf(serving.Invalid, "%d raw_input_contents for %d inputs; send one per input, in order",
			len(in.GetRawInputContents()), len(in.GetInputs()))
	}
	req := v2InferRequest{ID: in.GetId()}
	var bin []byte
	for i, t := range in.GetInputs() {
		b := []byte(nil)
		if raw {
			if t.GetContents() != nil {
				return nil, false, serving.Errorf(serving.Invalid, "inputs[%d] (%q): both contents and raw_input_contents given", i, t.GetName())
			}
			b = in.GetRawInputContents()[i]
		} else {
			var err error
			if b, err = contentsBinary(t.GetDatatype(), t.GetContents()); err != nil {
				return nil, false, serving.Errorf(serving.Invalid, "inputs[%d] (%q): %v", i, t.GetName(), err)
			}
		}
		size := int64(len(b))
		bin = append(bin, b...)
		req.Inputs = append(req.Inputs, v2Input{Name: t.GetName(), Shape: t.GetShape(), Datatype: t.GetDatatype(),
			Parameters: v2Parameters{BinaryDataSize: &size}})
	}
	for _, o := range in.GetOutputs() {
		out := v2RequestedOutput{Name: o.GetName()}
		if p := o.GetParameters()["classification"]; p != nil {
			out.Parameters.Classification = int(p.GetInt64Param())
		}
		req.Outputs = append(req.Outputs, out)
	}
	if req.Inputs == nil {
		req.Inputs = []v2Input{}
	}
	p, err := parseV2Inputs(req, bin, sig, lim)
	return p, raw, err
}

// contentsBinary writes typed contents in Triton's binary tensor format
// (little-endian numbers; BYTES elements each behind a 4-byte length). Only
// the field of the input's datatype may hold values.
func contentsBinary(datatype string, c *inference.InferTensorContents) ([]byte, error) {
	fields := map[string]int{"FP32": len(c.GetFp32Contents()), "INT32": len(c.GetIntContents()),
		"INT64": len(c.GetInt64Contents()), "BYTES": len(c.GetBytesContents()),
		"BOOL": len(c.GetBoolContents()), "UINT32": len(c.GetUintContents()), "UINT64": len(c.GetUint64Contents()),
		"FP64": len(c.GetFp64Contents())}
	for dt, n := range fields {
		if n > 0 && dt != datatype {
			return nil, fmt.Errorf("contents hold %s values but the datatype is %q", dt, datatype)
		}
	}
	var b []byte
	switch datatype {
	case "FP32":
		for _, f := range c.GetFp32Contents() {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	case "INT32":
		for _, v := range c.GetIntContents() {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	case "INT64":
		for _, v := range c.GetInt64Contents() {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	case "BYTES":
		for _, s := range c.GetBytesContents() {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
	}
	return b, nil
}

// grpcContents is t as typed contents.
func grpcContents(t *serving.Tensor) *inference.InferTensorContents {
	return &inference.InferTensorContents{Fp32Contents: t.Float32, IntContents: t.Int32, Int64Contents: t.Int64, BytesContents: t.Strings}
}
