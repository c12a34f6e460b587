package tfserving

import (
	"encoding/base64"
	"math"
	"sort"
	"strings"

	"github.com/imgclf/serving"
)

// predictResponse renders outputs in the request's format. Row format
// splits every output along its first (batch) dimension: one output gives
// bare values, several give objects keyed by output name. Columnar format
// returns whole tensors under "outputs".
func predictResponse(req *parsedRequest, outputs map[string]*serving.Tensor) (any, error) {
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := outputs[k].Validate(); err != nil { // guards the indexing below
			return nil, serving.Errorf(serving.Internal, "model output %q: %v", k, err)
		}
	}

	if !req.rows {
		if len(keys) == 1 {
			return map[string]any{"outputs": outputJSON(keys[0], outputs[keys[0]], -1)}, nil
		}
		cols := make(map[string]any, len(keys))
		for _, k := range keys {
			cols[k] = outputJSON(k, outputs[k], -1)
		}
		return map[string]any{"outputs": cols}, nil
	}

	for _, k := range keys {
		if t := outputs[k]; len(t.Shape) == 0 || t.Shape[0] != int64(req.batch) {
			return nil, serving.Errorf(serving.Invalid, "output %q has shape %v, which does not split into %d instances; send the request in columnar format (\"inputs\")", k, t.Shape, req.batch)
		}
	}
	preds := make([]any, req.batch)
	for i := range preds {
		if len(keys) == 1 {
			preds[i] = outputJSON(keys[0], outputs[keys[0]], i)
			continue
		}
		row := make(map[string]any, len(keys))
		for _, k := range keys {
			row[k] = outputJSON(k, outputs[k], i)
		}
		preds[i] = row
	}
	return map[string]any{"predictions": preds}, nil
}

// outputJSON renders t (or, with row >= 0, its row'th slice along the first
// dimension) as nested lists. String outputs whose key ends in "_bytes" are
// {"b64": ...}, as in TF Serving; other strings are plain JSON strings.
// NaN and infinities, which JSON cannot express, become null.
func outputJSON(key string, t *serving.Tensor, row int) any {
	shape, offset := t.Shape, 0
	if row >= 0 {
		stride := 1
		for _, d := range shape[1:] {
			stride *= int(d)
		}
		shape, offset = shape[1:], row*stride
	}
	binary := strings.HasSuffix(key, "_bytes")
	leaf := func(i int) any {
		switch t.DType {
		case serving.DTFloat:
			if f := t.Float32[i]; !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
				return f // encoding/json writes float32 in shortest float32 form
			}
			return nil
		case serving.DTInt32:
			return t.Int32[i]
		case serving.DTInt64:
			return t.Int64[i]
		case serving.DTString:
			if binary {
				return map[string]string{"b64": base64.StdEncoding.EncodeToString(t.Strings[i])}
			}
			return string(t.Strings[i])
		}
		return nil
	}
	return nest(shape, offset, leaf)
}

func nest(shape []int64, offset int, leaf func(int) any) any {
	if len(shape) == 0 {
		return leaf(offset)
	}
	stride := 1
	for _, d := range shape[1:] {
		stride *= int(d)
	}
	out := make([]any, shape[0])
	for i := range out {
		out[i] = nest(shape[1:], offset+i*stride, leaf)
	}
	return out
}
