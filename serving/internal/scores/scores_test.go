package scores

import (
	"reflect"
	"testing"

	"github.com/imgclf/serving"
)

func TestTopK(t *testing.T) {
	row := []float32{0.1, 0.4, 0.1, 0.4}
	labels := []string{"a", "b", "c"} // class 3 has no label
	tests := []struct {
		k    int
		want []Class
	}{
		{2, []Class{{1, "b", 0.4}, {3, "", 0.4}}}, // ties keep index order
		{0, []Class{{1, "b", 0.4}, {3, "", 0.4}, {0, "a", 0.1}, {2, "c", 0.1}}},
		{9, []Class{{1, "b", 0.4}, {3, "", 0.4}, {0, "a", 0.1}, {2, "c", 0.1}}},
	}
	for _, tt := range tests {
		if got := TopK(row, tt.k, labels); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("TopK(k=%d) = %+v, want %+v", tt.k, got, tt.want)
		}
	}
	if got := (Class{Index: 3}).Name(); got != "3" {
		t.Errorf("Name() without a label = %q, want the index", got)
	}
}

func TestOutputAndRows(t *testing.T) {
	sig := serving.Signature{Outputs: map[string]serving.TensorInfo{
		"logits": {DType: serving.DTFloat}, "probabilities": {DType: serving.DTFloat}, "label": {DType: serving.DTString}}}
	if got, err := Output(sig); got != "probabilities" || err != nil {
		t.Errorf("Output() = %q, %v", got, err)
	}
	delete(sig.Outputs, "probabilities")
	if got, err := Output(sig); got != "logits" || err != nil {
		t.Errorf("Output() with one float output = %q, %v", got, err)
	}
	sig.Outputs["other"] = serving.TensorInfo{DType: serving.DTFloat}
	if _, err := Output(sig); err == nil {
		t.Error("Output() chose among two unnamed float outputs")
	}
	rows, err := Rows(&serving.Tensor{DType: serving.DTFloat, Shape: []int64{2, 3}, Float32: []float32{1, 2, 3, 4, 5, 6}})
	if err != nil || !reflect.DeepEqual(rows, [][]float32{{1, 2, 3}, {4, 5, 6}}) {
		t.Errorf("Rows() = %v, %v", rows, err)
	}
	if _, err := Rows(&serving.Tensor{DType: serving.DTFloat, Shape: []int64{0, 3}}); err == nil {
		t.Error("Rows() of an empty batch succeeded")
	}
}
