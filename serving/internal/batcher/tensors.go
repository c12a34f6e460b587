package batcher

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imgclf/serving"
)

// batchKey returns the rows a request adds to a batch and a key that is
// equal for requests that can be stacked along the first dimension: the
// same input names, dtypes and per-row shapes. Requests without a common
// first dimension get "" and always run alone.
func batchKey(inputs map[string]*serving.Tensor) (int64, string) {
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	slices.Sort(names)
	var sb strings.Builder
	rows := int64(-1)
	for _, name := range names {
		t := inputs[name]
		if t == nil || len(t.Shape) == 0 || t.Shape[0] < 1 || t.Validate() != nil {
			return 1, ""
		}
		if rows >= 0 && t.Shape[0] != rows {
			return 1, ""
		}
		rows = t.Shape[0]
		fmt.Fprintf(&sb, "%q:%d:%v;", name, t.DType, t.Shape[1:])
	}
	if rows < 0 {
		return 1, ""
	}
	return rows, sb.String()
}

// concat stacks the tasks' inputs along the first dimension; batchKey has
// checked that they agree on everything else.
func concat(tasks []*task) map[string]*serving.Tensor {
	out := make(map[string]*serving.Tensor, len(tasks[0].inputs))
	for name, first := range tasks[0].inputs {
		t := &serving.Tensor{DType: first.DType, Shape: slices.Clone(first.Shape)}
		t.Shape[0] = 0
		for _, tk := range tasks {
			in := tk.inputs[name]
			t.Shape[0] += in.Shape[0]
			t.Float32 = append(t.Float32, in.Float32...)
			t.Int32 = append(t.Int32, in.Int32...)
			t.Int64 = append(t.Int64, in.Int64...)
			t.Strings = append(t.Strings, in.Strings...)
		}
		out[name] = t
	}
	return out
}

// split cuts every output along its first dimension into rows[i] rows for
// task i. An output without that batch dimension cannot be split.
func split(outputs map[string]*serving.Tensor, rows []int64) ([]map[string]*serving.Tensor, error) {
	var total int64
	for _, r := range rows {
		total += r
	}
	parts := make([]map[string]*serving.Tensor, len(rows))
	for i := range parts {
		parts[i] = make(map[string]*serving.Tensor, len(outputs))
	}
	for name, t := range outputs {
		if err := t.Validate(); err != nil {
			return nil, serving.Errorf(serving.Internal, "model output %q: %v", name, err)
		}
		if len(t.Shape) == 0 || t.Shape[0] != total {
			return nil, serving.Errorf(serving.Internal, "model output %q has shape %v, which does not split into the batch's %d rows; run the predictor with --batching=false for this model", name, t.Shape, total)
		}
		stride := int64(1)
		for _, d := range t.Shape[1:] {
			stride *= d
		}
		var off int64
		for i, r := range rows {
			lo, hi := off*stride, (off+r)*stride
			p := &serving.Tensor{DType: t.DType, Shape: append([]int64{r}, t.Shape[1:]...)}
			switch t.DType {
			case serving.DTFloat:
				p.Float32 = t.Float32[lo:hi:hi]
			case serving.DTInt32:
				p.Int32 = t.Int32[lo:hi:hi]
			case serving.DTInt64:
				p.Int64 = t.Int64[lo:hi:hi]
			case serving.DTString:
				p.Strings = t.Strings[lo:hi:hi]
			}
			parts[i][name] = p
			off += r
		}
	}
	return parts, nil
}
