package serving

import (
	"fmt"
	"strconv"
)

// DType is a TensorFlow data type. The values are TensorFlow's own DataType
// enum numbers so the cgo layer and the protobuf parser convert without tables.
type DType int32

// The data types the predictor can feed and fetch.
const (
	DTInvalid DType = 0
	DTFloat   DType = 1
	DTInt32   DType = 3
	DTString  DType = 7
	DTInt64   DType = 9
)

// String returns TensorFlow's enum name (e.g. "DT_FLOAT"), as TF Serving's
// metadata JSON shows it.
func (d DType) String() string {
	switch d {
	case DTFloat:
		return "DT_FLOAT"
	case DTInt32:
		return "DT_INT32"
	case DTString:
		return "DT_STRING"
	case DTInt64:
		return "DT_INT64"
	case DTInvalid:
		return "DT_INVALID"
	}
	return fmt.Sprintf("DT_%d", int32(d))
}

// Supported reports whether the predictor can convert this type to and
// from JSON.
func (d DType) Supported() bool {
	switch d {
	case DTFloat, DTInt32, DTString, DTInt64:
		return true
	}
	return false
}

// Tensor is a dense tensor in row-major order. Exactly one of the data
// slices matching DType is used.
type Tensor struct {
	DType   DType
	Shape   []int64
	Float32 []float32
	Int32   []int32
	Int64   []int64
	Strings [][]byte
}

// NumElements is the product of Shape (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Len is the number of elements actually held in the data slice for DType.
func (t *Tensor) Len() int {
	switch t.DType {
	case DTFloat:
		return len(t.Float32)
	case DTInt32:
		return len(t.Int32)
	case DTInt64:
		return len(t.Int64)
	case DTString:
		return len(t.Strings)
	}
	return 0
}

// AppendNumber parses a JSON number's text as the tensor's numeric DType
// (float32, int32 or int64, with their ranges) and appends it. The error is
// strconv's; callers say where in their request the number stood.
func (t *Tensor) AppendNumber(text string) error {
	switch t.DType {
	case DTFloat:
		f, err := strconv.ParseFloat(text, 32)
		if err != nil {
			return err
		}
		t.Float32 = append(t.Float32, float32(f))
	case DTInt32:
		i, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return err
		}
		t.Int32 = append(t.Int32, int32(i))
	case DTInt64:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return err
		}
		t.Int64 = append(t.Int64, i)
	default:
		return fmt.Errorf("%s is not a numeric dtype", t.DType)
	}
	return nil
}

// Validate checks that the type is supported and the data length matches the
// shape, so the cgo layer never copies past a slice.
func (t *Tensor) Validate() error {
	if !t.DType.Supported() {
		return Errorf(Invalid, "unsupported dtype %s", t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return Errorf(Invalid, "negative dimension in shape %v", t.Shape)
		}
	}
	if n := t.NumElements(); n != int64(t.Len()) {
		return Errorf(Invalid, "shape %v needs %d values, got %d", t.Shape, n, t.Len())
	}
	return nil
}
