package kservev2

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/scores"
)

// v2InferResponse is the JSON part of an infer reply.
type v2InferResponse struct {
	ModelName    string     `json:"model_name"`
	ModelVersion string     `json:"model_version"`
	ID           string     `json:"id,omitempty"`
	Outputs      []v2Output `json:"outputs"`
}

type v2Output struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Parameters *v2OutParameter `json:"parameters,omitempty"`
	Data       any             `json:"data,omitempty"`
}

type v2OutParameter struct {
	BinaryDataSize int `json:"binary_data_size"`
}

// v2Response renders the requested outputs (v2Outputs). Binary outputs
// come back as blobs to append after the JSON header, in output order.
func v2Response(req *v2Parsed, name string, lease *registry.Lease, outputs map[string]*serving.Tensor) (*v2InferResponse, [][]byte, error) {
	selected, err := v2Outputs(req, lease, outputs)
	if err != nil {
		return nil, nil, err
	}
	resp := &v2InferResponse{ModelName: name, ModelVersion: strconv.FormatInt(lease.Version, 10), ID: req.id}
	var blobs [][]byte
	for _, o := range selected {
		t := o.tensor
		out := v2Output{Name: o.name, Datatype: v2Datatype(t.DType), Shape: t.Shape}
		if o.binary {
			b := v2Binary(t)
			out.Parameters = &v2OutParameter{BinaryDataSize: len(b)}
			blobs = append(blobs, b)
		} else {
			out.Data = v2JSONData(t)
		}
		resp.Outputs = append(resp.Outputs, out)
	}
	return resp, blobs, nil
}

// v2Selected is one output of an infer reply.
type v2Selected struct {
	name   string
	tensor *serving.Tensor
	binary bool // asked for in the binary format
}

// v2Outputs picks the requested outputs (all, sorted by name, when the
// request names none), with the classification extension applied: what
// the REST and gRPC replies both render.
func v2Outputs(req *v2Parsed, lease *registry.Lease, outputs map[string]*serving.Tensor) ([]v2Selected, error) {
	requested := req.outputs
	if len(requested) == 0 {
		for k := range outputs {
			requested = append(requested, v2RequestedOutput{Name: k})
		}
		slices.SortFunc(requested, func(a, b v2RequestedOutput) int { return strings.Compare(a.Name, b.Name) })
	}
	selected := make([]v2Selected, 0, len(requested))
	for _, o := range requested {
		t := outputs[o.Name]
		if t == nil {
			return nil, serving.Errorf(serving.Internal, "the model returned no output %q", o.Name)
		}
		if err := t.Validate(); err != nil {
			return nil, serving.Errorf(serving.Internal, "model output %q: %v", o.Name, err)
		}
		if k := o.Parameters.Classification; k > 0 {
			var err error
			if t, err = classification(t, k, lease.Labels); err != nil {
				return nil, inputcodec.PrefixError("output "+strconv.Quote(o.Name), err)
			}
		}
		selected = append(selected, v2Selected{name: o.Name, tensor: t, binary: req.binary || o.Parameters.BinaryData})
	}
	return selected, nil
}

// v2JSONData flattens t's values; NaN and infinities become null.
func v2JSONData(t *serving.Tensor) any {
	switch t.DType {
	case serving.DTFloat:
		for _, f := range t.Float32 {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				out := make([]any, len(t.Float32))
				for i, f := range t.Float32 {
					if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
						out[i] = f
					}
				}
				return out
			}
		}
		return t.Float32
	case serving.DTInt32:
		return t.Int32
	case serving.DTInt64:
		return t.Int64
	case serving.DTString:
		out := make([]string, len(t.Strings))
		for i, s := range t.Strings {
			out[i] = string(s)
		}
		return out
	}
	return nil
}

// classification implements Triton's classification extension: for each
// row of a [batch, classes] (or [classes]) score tensor, the top k classes
// as "score:index:label" strings (":label" only when labels.txt has one).
func classification(t *serving.Tensor, k int, labels []string) (*serving.Tensor, error) {
	rows, err := scores.Rows(t)
	if err != nil {
		return nil, err
	}
	out := &serving.Tensor{DType: serving.DTString}
	for _, row := range rows {
		for _, c := range scores.TopK(row, k, labels) {
			s := strconv.FormatFloat(float64(c.Score), 'f', -1, 32) + ":" + strconv.Itoa(c.Index)
			if c.Label != "" {
				s += ":" + c.Label
			}
			out.Strings = append(out.Strings, []byte(s))
		}
	}
	kk := int64(min(k, len(rows[0])))
	if len(t.Shape) == 1 {
		out.Shape = []int64{kk}
	} else {
		out.Shape = []int64{int64(len(rows)), kk}
	}
	return out, nil
}
