package signature

import (
	"reflect"
	"testing"

	"github.com/imgclf/serving"
	"google.golang.org/protobuf/encoding/protowire"
)

// The helpers below encode the few messages Parse reads, so tests describe a
// MetaGraphDef in Go instead of shipping binary fixtures.

func bytesField(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func varintField(num protowire.Number, x uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, x)
}

func entry(key string, value []byte) []byte {
	return append(bytesField(mapKey, []byte(key)), bytesField(mapValue, value)...)
}

func tensorInfo(name string, dtype serving.DType, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = append(shape, bytesField(shapeDim, varintField(dimSize, uint64(d)))...)
	}
	b := bytesField(infoName, []byte(name))
	b = append(b, varintField(infoDType, uint64(dtype))...)
	return append(b, bytesField(infoShape, shape)...)
}

func imageSignatureDef() []byte {
	b := bytesField(sigInputs, entry("image_bytes", tensorInfo("serving_default_image_bytes:0", serving.DTString, -1)))
	b = append(b, bytesField(sigOutputs, entry("probabilities", tensorInfo("StatefulPartitionedCall:1", serving.DTFloat, -1, 3)))...)
	b = append(b, bytesField(sigOutputs, entry("class_id", tensorInfo("StatefulPartitionedCall:0", serving.DTInt64, -1)))...)
	return append(b, bytesField(sigMethodName, []byte("tensorflow/serving/predict"))...)
}

func metaGraph() []byte {
	b := bytesField(1, []byte("meta_info_def is skipped")) // unrelated fields first
	b = append(b, bytesField(metaGraphSignatureDef, entry(InitOpKey, bytesField(sigOutputs, entry("init", tensorInfo("NoOp", 0)))))...)
	b = append(b, bytesField(metaGraphSignatureDef, entry(DefaultName, imageSignatureDef()))...)
	return append(b, protowire.AppendTag(nil, 9, protowire.Fixed64Type)...)
}

func TestFind(t *testing.T) {
	want := serving.Signature{
		Name:       DefaultName,
		MethodName: "tensorflow/serving/predict",
		Inputs: map[string]serving.TensorInfo{
			"image_bytes": {Name: "serving_default_image_bytes:0", DType: serving.DTString, Shape: []int64{-1}},
		},
		Outputs: map[string]serving.TensorInfo{
			"probabilities": {Name: "StatefulPartitionedCall:1", DType: serving.DTFloat, Shape: []int64{-1, 3}},
			"class_id":      {Name: "StatefulPartitionedCall:0", DType: serving.DTInt64, Shape: []int64{-1}},
		},
	}
	mg := append(metaGraph(), make([]byte, 8)...) // complete the fixed64 field
	tests := []struct {
		name     string
		in       []byte
		sig      string
		want     serving.Signature
		wantCode serving.Code
		wantErr  bool
	}{
		{name: "serving_default", in: mg, sig: DefaultName, want: want},
		{name: "init op is not a signature", in: mg, sig: InitOpKey, wantCode: serving.NotFound, wantErr: true},
		{name: "missing", in: mg, sig: "other", wantCode: serving.NotFound, wantErr: true},
		{name: "empty MetaGraphDef", in: nil, sig: DefaultName, wantCode: serving.NotFound, wantErr: true},
		{name: "truncated", in: mg[:len(mg)-3], sig: DefaultName, wantCode: serving.Internal, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Find(tt.in, tt.sig)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Find() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if code := serving.ErrorCode(err); code != tt.wantCode {
					t.Errorf("code = %q, want %q (%v)", code, tt.wantCode, err)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Find() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseShape(t *testing.T) {
	tests := []struct {
		name        string
		shape       []byte
		wantDims    []int64
		wantUnknown bool
	}{
		{"scalar", nil, []int64{}, false},
		{"unknown rank", varintField(shapeUnknownRank, 1), []int64{}, true},
		{"dim without size is 0", bytesField(shapeDim, nil), []int64{0}, false},
		{"named dims", append(bytesField(shapeDim, append(varintField(dimSize, 2), bytesField(2, []byte("batch"))...)), bytesField(shapeDim, varintField(dimSize, 5))...), []int64{2, 5}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var info serving.TensorInfo
			if err := parseShape(tt.shape, &info); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info.Shape, tt.wantDims) || info.UnknownRank != tt.wantUnknown {
				t.Errorf("got %v unknown=%v, want %v unknown=%v", info.Shape, info.UnknownRank, tt.wantDims, tt.wantUnknown)
			}
		})
	}
}

// FuzzParse checks that no input makes the parser panic or loop.
func FuzzParse(f *testing.F) {
	f.Add(append(metaGraph(), make([]byte, 8)...))
	f.Add(metaGraph())
	f.Add(imageSignatureDef())
	f.Add([]byte{0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		sigs, err := Parse(b)
		if err == nil && sigs == nil {
			t.Fatal("nil map without error")
		}
	})
}
