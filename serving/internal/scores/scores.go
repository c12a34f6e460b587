// Package scores finds a signature's class scores output and ranks its
// classes: what :classify, :classify-image, the v2 classification extension
// and the prediction log share, so all four name the same classes the same
// way.
package scores

import (
	"context"
	"slices"
	"strconv"

	"github.com/imgclf/serving"
)

// OutputNames are tried in order to find the scores output.
var OutputNames = []string{"probabilities", "scores", "probs", "predictions"}

// Output picks the output holding class scores: a DT_FLOAT output named
// like one of OutputNames, else the only DT_FLOAT output.
func Output(sig serving.Signature) (string, error) {
	for _, name := range OutputNames {
		if info, ok := sig.Outputs[name]; ok && info.DType == serving.DTFloat {
			return name, nil
		}
	}
	var floats []string
	for k, info := range sig.Outputs {
		if info.DType == serving.DTFloat {
			floats = append(floats, k)
		}
	}
	if len(floats) == 1 {
		return floats[0], nil
	}
	return "", serving.Errorf(serving.Invalid, "signature %q has no single float scores output (named one of %v) to classify with; use :predict", sig.Name, OutputNames)
}

// Predict runs m on inputs and returns the rows of its scores output key
// (from Output): what :classify and :classify-image rank.
func Predict(ctx context.Context, m serving.Model, inputs map[string]*serving.Tensor, key string) ([][]float32, error) {
	outputs, err := m.Predict(ctx, inputs)
	if err != nil {
		return nil, err
	}
	t := outputs[key]
	if t == nil {
		return nil, serving.Errorf(serving.Internal, "the model returned no output %q", key)
	}
	if err := t.Validate(); err != nil {
		return nil, serving.Errorf(serving.Internal, "model output %q: %v", key, err)
	}
	return Rows(t)
}

// Rows splits a [batch, classes] or [classes] float tensor into rows. The
// rows share t's memory.
func Rows(t *serving.Tensor) ([][]float32, error) {
	if t.DType != serving.DTFloat || len(t.Shape) < 1 || len(t.Shape) > 2 {
		return nil, serving.Errorf(serving.Invalid, "scores must be a float tensor of shape [batch, classes], got %s %v", t.DType, t.Shape)
	}
	if len(t.Shape) == 1 {
		if t.Shape[0] == 0 {
			return nil, serving.Errorf(serving.Invalid, "scores have no classes")
		}
		return [][]float32{t.Float32}, nil
	}
	n, c := int(t.Shape[0]), int(t.Shape[1])
	if n == 0 || c == 0 {
		return nil, serving.Errorf(serving.Invalid, "scores of shape %v are empty", t.Shape)
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = t.Float32[i*c : (i+1)*c : (i+1)*c]
	}
	return rows, nil
}

// Class is one ranked class of one row.
type Class struct {
	Index int     // position in the row: the class id
	Label string  // line Index of labels.txt; "" when there is none
	Score float32 // the row's value at Index
}

// Name is the label, or the class index as text when there is no label.
func (c Class) Name() string {
	if c.Label == "" {
		return strconv.Itoa(c.Index)
	}
	return c.Label
}

// TopK returns the k best classes of a row, best first; equal scores keep
// index order. k <= 0 returns every class.
func TopK(row []float32, k int, labels []string) []Class {
	out := make([]Class, len(row))
	for i, s := range row {
		out[i] = Class{Index: i, Score: s}
		if i < len(labels) {
			out[i].Label = labels[i]
		}
	}
	slices.SortStableFunc(out, func(a, b Class) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if k > 0 && k < len(out) {
		out = out[:k]
	}
	return out
}
