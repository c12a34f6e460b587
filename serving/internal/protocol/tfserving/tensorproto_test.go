package tfserving

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/servingtest"
)

func protoDims(dims ...int64) *framework.TensorShapeProto {
	s := &framework.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &framework.TensorShapeProto_Dim{Size: d})
	}
	return s
}

// tensorProtoSeeds are PredictRequest inputs as tf.make_tensor_proto writes
// them: images in string_val, numbers in tensor_content or typed fields.
func tensorProtoSeeds() []*framework.TensorProto {
	return []*framework.TensorProto{
		{Dtype: framework.DataType_DT_STRING, TensorShape: protoDims(2), StringVal: [][]byte{[]byte(servingtest.PNG), []byte(servingtest.JPEG)}},
		{Dtype: framework.DataType_DT_FLOAT, TensorShape: protoDims(1, 2), TensorContent: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}},
		{Dtype: framework.DataType_DT_FLOAT, TensorShape: protoDims(2, 2), FloatVal: []float32{1, 2, 3, 4}},
		{Dtype: framework.DataType_DT_INT64, TensorShape: protoDims(2), Int64Val: []int64{1, 2}},
		{Dtype: framework.DataType_DT_STRING, TensorShape: protoDims(1), StringVal: [][]byte{[]byte("hello")}},
	}
}

// FuzzTensorFromProto feeds arbitrary TensorProto messages to every input
// of the test signatures: never a panic, refusals are Invalid, and what is
// accepted is a whole tensor of the model's dtype.
func FuzzTensorFromProto(f *testing.F) {
	for _, p := range tensorProtoSeeds() {
		b, err := proto.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var codecs []inputCodec
	for _, sig := range []serving.Signature{servingtest.ImageSignature(), servingtest.NumericSignature(), servingtest.TextSignature()} {
		codecs = append(codecs, inputCodecs(sig, 1<<20)...)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var p framework.TensorProto
		if proto.Unmarshal(msg, &p) != nil {
			return
		}
		for _, c := range codecs {
			tensor, err := tensorFromProto(&p, c.Codec, 1<<16)
			if err != nil {
				if code := serving.ErrorCode(err); code != serving.Invalid {
					t.Fatalf("input %q refused with %s, want invalid: %v", c.Key, code, err)
				}
				continue
			}
			if err := tensor.Validate(); err != nil || tensor.DType != c.Info.DType {
				t.Fatalf("input %q accepted a tensor that is not whole (%v) or of dtype %s", c.Key, err, tensor.DType)
			}
		}
	})
}
