package tfserving

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestReadPredictRequestNumeric(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    map[string]*serving.Tensor
		wantErr string
	}{
		{
			name: "rows",
			body: `{"instances":[{"x":[1,2.5],"id":9007199254740993},{"x":[3e-3,-4],"id":-1}]}`,
			want: map[string]*serving.Tensor{
				"x":  {DType: serving.DTFloat, Shape: []int64{2, 2}, Float32: []float32{1, 2.5, 0.003, -4}},
				"id": {DType: serving.DTInt64, Shape: []int64{2}, Int64: []int64{9007199254740993, -1}},
			},
		},
		{
			name: "columns",
			body: `{"inputs":{"x":[[1,2]],"id":[7]}}`,
			want: map[string]*serving.Tensor{
				"x":  {DType: serving.DTFloat, Shape: []int64{1, 2}, Float32: []float32{1, 2}},
				"id": {DType: serving.DTInt64, Shape: []int64{1}, Int64: []int64{7}},
			},
		},
		{name: "float for int", body: `{"instances":[{"x":[1,2],"id":1.5}]}`, wantErr: `instances[0].id: 1.5 is not a valid DT_INT64 for input "id"`},
		{name: "string for float", body: `{"inputs":{"x":[[1,"a"]],"id":[7]}}`, wantErr: `inputs.x[0][1]: expected a number for DT_FLOAT input "x", got a string`},
		{name: "float overflow", body: `{"inputs":{"x":[[1,1e39]],"id":[7]}}`, wantErr: `inputs.x[0][1]: 1e39 is not a valid DT_FLOAT for input "x"`},
		{name: "missing input", body: `{"instances":[{"x":[1,2]}]}`, wantErr: `instances[0]: missing input "id"; the signature takes ["id", "x"]`},
		{name: "bare value with two inputs", body: `{"instances":[[1,2]]}`, wantErr: `instances[0]: expected an object keyed by input name (["id", "x"]), got a list`},
		{name: "too deep", body: `{"inputs":{"x":[[1,[2]]],"id":[7]}}`, wantErr: `inputs.x[0][1]: ragged or too deep list; …`},
		{name: "too shallow", body: `{"inputs":{"x":[[[1],2]],"id":[7]}}`, wantErr: `inputs.x[0][1]: expected a list, got a number (input "x" needs a regular nested list)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := readPredictRequest(strings.NewReader(tt.body), servingtest.NumericSignature(), limits{1 << 20, imagecheck.DefaultMaxPixels})
			if tt.wantErr != "" {
				prefix, isPrefix := strings.CutSuffix(tt.wantErr, "…")
				if err == nil || serving.ErrorCode(err) != serving.Invalid || (!isPrefix && err.Error() != tt.wantErr) || !strings.HasPrefix(err.Error(), prefix) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(req.inputs, tt.want) {
				t.Errorf("inputs = %+v, want %+v", req.inputs, tt.want)
			}
		})
	}
}

func TestOutputJSON(t *testing.T) {
	tests := []struct {
		name string
		key  string
		t    *serving.Tensor
		row  int
		want string
	}{
		{"float32 shortest form", "p", &serving.Tensor{DType: serving.DTFloat, Shape: []int64{1, 3}, Float32: []float32{0.1, 1.0 / 3, 1e-7}}, -1, `[[0.1,0.33333334,1e-7]]`},
		{"row of a matrix", "p", &serving.Tensor{DType: serving.DTInt32, Shape: []int64{2, 2}, Int32: []int32{1, 2, 3, 4}}, 1, `[3,4]`},
		{"row of a vector is a scalar", "class_id", &serving.Tensor{DType: serving.DTInt64, Shape: []int64{2}, Int64: []int64{5, 6}}, 1, `6`},
		{"NaN and Inf are null", "p", &serving.Tensor{DType: serving.DTFloat, Shape: []int64{2}, Float32: []float32{float32(math.NaN()), float32(math.Inf(1))}}, -1, `[null,null]`},
		{"strings", "label", &serving.Tensor{DType: serving.DTString, Shape: []int64{1}, Strings: [][]byte{[]byte("cat")}}, -1, `["cat"]`},
		{"_bytes outputs are base64", "thumb_bytes", &serving.Tensor{DType: serving.DTString, Shape: []int64{1}, Strings: [][]byte{{0xff, 0}}}, 0, `{"b64":"/wA="}`},
		{"scalar", "n", &serving.Tensor{DType: serving.DTInt64, Int64: []int64{3}}, -1, `3`},
		{"empty batch", "p", &serving.Tensor{DType: serving.DTFloat, Shape: []int64{0, 3}}, -1, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(outputJSON(tt.key, tt.t, tt.row))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
		})
	}
}

// FuzzReadPredictRequest checks that no body makes the decoder panic, and
// that every failure is a typed client error.
func FuzzReadPredictRequest(f *testing.F) {
	for _, s := range []string{
		`{"instances":[{"b64":"iVBORw0KGgo="}]}`,
		`{"inputs":{"image_bytes":[{"b64":"/9j/"}]}}`,
		`{"instances":[[[1,2],[3]]]}`,
		`{"inputs":[[]], "signature_name":"x"}`,
		`{"instances":[{"image_bytes":"x","b64":"y"}]}`,
	} {
		f.Add(s)
	}
	sigs := []serving.Signature{servingtest.ImageSignature(), servingtest.NumericSignature()}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sig := range sigs {
			req, err := readPredictRequest(strings.NewReader(body), sig, limits{1 << 20, imagecheck.DefaultMaxPixels})
			if err != nil {
				if code := serving.ErrorCode(err); code != serving.Invalid && code != serving.TooLarge {
					t.Fatalf("error %v has code %q, want invalid or too_large", err, code)
				}
				continue
			}
			for k, tensor := range req.inputs {
				if err := tensor.Validate(); err != nil {
					t.Fatalf("input %q: %v", k, err)
				}
			}
		}
	})
}

// FuzzReadClassifyRequest: the :classify decoder.
func FuzzReadClassifyRequest(f *testing.F) {
	f.Add(`{"examples":[{"image_bytes":{"b64":"iVBORw0KGgo="}}]}`)
	f.Add(`{"context":{"x":[1,2]},"examples":[{}]}`)
	f.Add(`{"examples":[null]}`)
	sigs := []serving.Signature{servingtest.ImageSignature(), servingtest.NumericSignature()}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sig := range sigs {
			_, inputs, err := readClassifyRequest(strings.NewReader(body), sig, limits{1 << 20, imagecheck.DefaultMaxPixels})
			if err != nil {
				if code := serving.ErrorCode(err); code != serving.Invalid && code != serving.TooLarge {
					t.Fatalf("error %v has code %q", err, code)
				}
				continue
			}
			for k, tensor := range inputs {
				if err := tensor.Validate(); err != nil {
					t.Fatalf("input %q: %v", k, err)
				}
			}
		}
	})
}
