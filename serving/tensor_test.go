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

func TestAppendNumberKeepsEachDTypesRange(t *testing.T) {
	tests := []struct {
		dtype DType
		text  string
		ok    bool
	}{
		{DTFloat, "0.25", true},
		{DTFloat, "1e39", false}, // beyond float32
		{DTInt32, "2147483647", true},
		{DTInt32, "2147483648", false},
		{DTInt32, "1.5", false},
		{DTInt64, "9007199254740993", true}, // 2^53+1: kept exactly, not through float64
		{DTInt64, "9223372036854775808", false},
		{DTString, "1", false},
	}
	for _, tt := range tests {
		tensor := Tensor{DType: tt.dtype}
		err := tensor.AppendNumber(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: err = %v, want ok %v", tt.dtype, tt.text, err, tt.ok)
		}
		if want := map[bool]int{true: 1, false: 0}[tt.ok]; tensor.Len() != want {
			t.Errorf("%s %s: %d values held, want %d", tt.dtype, tt.text, tensor.Len(), want)
		}
	}
	tensor := Tensor{DType: DTInt64}
	_ = tensor.AppendNumber("9007199254740993")
	if tensor.Int64[0] != 1<<53+1 {
		t.Errorf("int64 = %d, want %d", tensor.Int64[0], int64(1<<53+1))
	}
	tensor = Tensor{DType: DTFloat}
	_ = tensor.AppendNumber("0.25")
	if tensor.Float32[0] != 0.25 {
		t.Errorf("float = %v, want 0.25", tensor.Float32[0])
	}
}
