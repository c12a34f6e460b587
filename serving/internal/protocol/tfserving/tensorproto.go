package tfserving

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/inputcodec"
)

// tensorFromProto decodes one gRPC PredictRequest input for the signature
// input of codec c: its dtype and shape must be the model's, its values in
// the typed field of that dtype or in tensor_content (little-endian), and
// an image input's elements must pass the image check, as over REST.
// maxElements bounds the element count a shape may claim.
func tensorFromProto(p *framework.TensorProto, c inputcodec.Codec, maxElements int64) (*serving.Tensor, error) {
	if got := serving.DType(p.GetDtype()); got != c.Info.DType {
		return nil, serving.Errorf(serving.Invalid, "dtype %s does not match the model's %s", got, c.Info.DType)
	}
	if p.GetTensorShape() == nil || p.GetTensorShape().GetUnknownRank() {
		return nil, serving.Errorf(serving.Invalid, "tensor_shape is missing; give every dimension")
	}
	shape := make([]int64, len(p.GetTensorShape().GetDim()))
	n := int64(1)
	for i, d := range p.GetTensorShape().GetDim() {
		if d.GetSize() < 0 {
			return nil, serving.Errorf(serving.Invalid, "tensor_shape dimension %d is %d; give every size", i, d.GetSize())
		}
		if d.GetSize() > 0 && n > maxElements/d.GetSize() {
			return nil, serving.Errorf(serving.Invalid, "tensor_shape %v holds more elements than a request can carry", protoShape(p))
		}
		shape[i] = d.GetSize()
		n *= d.GetSize()
	}
	if !c.Info.Accepts(shape) {
		return nil, serving.Errorf(serving.Invalid, "shape %v does not match the model's %v (-1 = any size)", shape, c.Info.Shape)
	}
	if n == 0 {
		return nil, serving.Errorf(serving.Invalid, "shape %v is empty; send at least one element", shape)
	}
	t := &serving.Tensor{DType: c.Info.DType, Shape: shape}
	content := p.GetTensorContent()
	var got int64
	switch t.DType {
	case serving.DTFloat:
		if t.Float32 = p.GetFloatVal(); len(content) > 0 {
			t.Float32 = make([]float32, len(content)/4)
			for i := range t.Float32 {
				t.Float32[i] = math.Float32frombits(binary.LittleEndian.Uint32(content[4*i:]))
			}
		}
		got = int64(len(t.Float32))
	case serving.DTInt32:
		if t.Int32 = p.GetIntVal(); len(content) > 0 {
			t.Int32 = make([]int32, len(content)/4)
			for i := range t.Int32 {
				t.Int32[i] = int32(binary.LittleEndian.Uint32(content[4*i:]))
			}
		}
		got = int64(len(t.Int32))
	case serving.DTInt64:
		if t.Int64 = p.GetInt64Val(); len(content) > 0 {
			t.Int64 = make([]int64, len(content)/8)
			for i := range t.Int64 {
				t.Int64[i] = int64(binary.LittleEndian.Uint64(content[8*i:]))
			}
		}
		got = int64(len(t.Int64))
	case serving.DTString:
		if len(content) > 0 {
			return nil, serving.Errorf(serving.Invalid, "DT_STRING values go in string_val, not tensor_content")
		}
		t.Strings = p.GetStringVal()
		got = int64(len(t.Strings))
		for i, s := range t.Strings {
			if err := c.Check(s); err != nil {
				return nil, inputcodec.PrefixError(fmt.Sprintf("element %d", i), err)
			}
		}
	}
	if got != n || (len(content) > 0 && int64(len(content)) != n*elementBytes(t.DType)) {
		return nil, serving.Errorf(serving.Invalid, "holds %d values; shape %v needs %d", got, shape, n)
	}
	return t, nil
}

func elementBytes(d serving.DType) int64 {
	if d == serving.DTInt64 {
		return 8
	}
	return 4
}

func protoShape(p *framework.TensorProto) []int64 {
	var s []int64
	for _, d := range p.GetTensorShape().GetDim() {
		s = append(s, d.GetSize())
	}
	return s
}

// tensorProto is a model output as TF Serving's gRPC API returns it: the
// typed value field of its dtype.
func tensorProto(t *serving.Tensor) *framework.TensorProto {
	dims := make([]*framework.TensorShapeProto_Dim, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = &framework.TensorShapeProto_Dim{Size: d}
	}
	return &framework.TensorProto{Dtype: framework.DataType(t.DType), TensorShape: &framework.TensorShapeProto{Dim: dims},
		FloatVal: t.Float32, IntVal: t.Int32, Int64Val: t.Int64, StringVal: t.Strings}
}
