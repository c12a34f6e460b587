package serving

import "testing"

func TestTensorInfoAccepts(t *testing.T) {
	tests := []struct {
		name  string
		info  TensorInfo
		shape []int64
		want  bool
	}{
		{"any batch", TensorInfo{Shape: []int64{-1}}, []int64{7}, true},
		{"fixed dims match", TensorInfo{Shape: []int64{-1, 3}}, []int64{2, 3}, true},
		{"fixed dim differs", TensorInfo{Shape: []int64{-1, 3}}, []int64{2, 4}, false},
		{"rank differs", TensorInfo{Shape: []int64{-1}}, []int64{1, 1}, false},
		{"unknown rank", TensorInfo{UnknownRank: true}, []int64{1, 2, 3}, true},
		{"scalar", TensorInfo{Shape: []int64{}}, []int64{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.info.Accepts(tt.shape); got != tt.want {
				t.Errorf("Accepts(%v) = %v, want %v", tt.shape, got, tt.want)
			}
		})
	}
}
