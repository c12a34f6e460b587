package kservev2

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
)

// Triton's binary tensor data extension: after a JSON header of
// Inference-Header-Content-Length bytes, each binary input (or output) in
// order, little-endian numbers, BYTES elements each as a 4-byte
// little-endian length and its bytes.

// readV2Binary decodes Triton's binary tensor format: little-endian
// numbers, or for BYTES each element as a 4-byte little-endian length and
// its bytes.
func readV2Binary(t *serving.Tensor, b []byte, n int64, codec inputcodec.Codec) error {
	if t.DType == serving.DTString {
		t.Strings = make([][]byte, 0, n)
		for i := int64(0); i < n; i++ {
			if len(b) < 4 {
				return serving.Errorf(serving.Invalid, "binary data ends inside element %d's length prefix", i)
			}
			size := binary.LittleEndian.Uint32(b)
			if uint64(size) > uint64(len(b)-4) {
				return serving.Errorf(serving.Invalid, "element %d claims %d bytes but %d remain", i, size, len(b)-4)
			}
			el := b[4 : 4+size : 4+size]
			b = b[4+size:]
			if err := codec.Check(el); err != nil {
				return inputcodec.PrefixError(fmt.Sprintf("element %d", i), err)
			}
			t.Strings = append(t.Strings, el)
		}
		if len(b) != 0 {
			return serving.Errorf(serving.Invalid, "%d bytes of binary data left after %d elements", len(b), n)
		}
		return nil
	}
	size := int64(4)
	if t.DType == serving.DTInt64 {
		size = 8
	}
	if int64(len(b)) != n*size {
		return serving.Errorf(serving.Invalid, "binary_data_size is %d bytes; shape needs %d elements of %d bytes", len(b), n, size)
	}
	switch t.DType {
	case serving.DTFloat:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case serving.DTInt32:
		t.Int32 = make([]int32, n)
		for i := range t.Int32 {
			t.Int32[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case serving.DTInt64:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return nil
}

// v2Binary encodes t in Triton's binary tensor format.
func v2Binary(t *serving.Tensor) []byte {
	var b []byte
	switch t.DType {
	case serving.DTFloat:
		b = make([]byte, 0, 4*len(t.Float32))
		for _, f := range t.Float32 {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	case serving.DTInt32:
		b = make([]byte, 0, 4*len(t.Int32))
		for _, v := range t.Int32 {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	case serving.DTInt64:
		b = make([]byte, 0, 8*len(t.Int64))
		for _, v := range t.Int64 {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	case serving.DTString:
		for _, s := range t.Strings {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
	}
	return b
}
