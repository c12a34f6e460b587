package serving

import "testing"

func TestTensorValidate(t *testing.T) {
	tests := []struct {
		name    string
		tensor  Tensor
		wantErr bool
	}{
		{"float matrix", Tensor{DType: DTFloat, Shape: []int64{2, 2}, Float32: make([]float32, 4)}, false},
		{"scalar", Tensor{DType: DTInt64, Int64: []int64{7}}, false},
		{"strings", Tensor{DType: DTString, Shape: []int64{2}, Strings: [][]byte{nil, []byte("a")}}, false},
		{"empty batch", Tensor{DType: DTString, Shape: []int64{0}}, false},
		{"short data", Tensor{DType: DTInt32, Shape: []int64{3}, Int32: []int32{1}}, true},
		{"negative dim", Tensor{DType: DTFloat, Shape: []int64{-1}}, true},
		{"unsupported", Tensor{DType: DType(2), Shape: []int64{0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tensor.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && ErrorCode(err) != Invalid {
				t.Errorf("code = %q, want invalid", ErrorCode(err))
			}
		})
	}
}

func TestDTypeString(t *testing.T) {
	for d, want := range map[DType]string{DTFloat: "DT_FLOAT", DTInt32: "DT_INT32", DTString: "DT_STRING", DTInt64: "DT_INT64", DTInvalid: "DT_INVALID", 2: "DT_2"} {
		if got := d.String(); got != want {
			t.Errorf("DType(%d).String() = %q, want %q", d, got, want)
		}
	}
}
