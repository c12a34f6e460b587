package model

// #include "tfhelpers.h"
import "C"

import (
	"unsafe"

	"github.com/imgclf/serving"
)

// newTFTensor copies a validated Go tensor into a TF_Tensor owned by
// TensorFlow's allocator. Free it with TF_DeleteTensor.
func newTFTensor(t *serving.Tensor) (*C.TF_Tensor, error) {
	n := t.NumElements()
	dims := (*C.int64_t)(unsafe.Pointer(first(t.Shape)))
	ndims := C.int(len(t.Shape))
	var ct *C.TF_Tensor
	switch t.DType {
	case serving.DTString:
		ct = C.predictor_new_string_tensor(dims, ndims, C.int64_t(n))
		if ct == nil {
			break
		}
		for i, s := range t.Strings {
			C.predictor_set_string(ct, C.int64_t(i), (*C.char)(unsafe.Pointer(first(s))), C.size_t(len(s)))
		}
	case serving.DTFloat:
		ct = allocCopy(dims, ndims, C.TF_FLOAT, t.Float32)
	case serving.DTInt32:
		ct = allocCopy(dims, ndims, C.TF_INT32, t.Int32)
	case serving.DTInt64:
		ct = allocCopy(dims, ndims, C.TF_INT64, t.Int64)
	default:
		return nil, serving.Errorf(serving.Invalid, "unsupported dtype %s", t.DType)
	}
	if ct == nil {
		return nil, serving.Errorf(serving.Internal, "TF_AllocateTensor failed for shape %v", t.Shape)
	}
	return ct, nil
}

// allocCopy allocates a numeric tensor and copies data into it.
func allocCopy[T float32 | int32 | int64](dims *C.int64_t, ndims C.int, dtype C.TF_DataType, data []T) *C.TF_Tensor {
	size := uintptr(len(data)) * unsafe.Sizeof(*new(T))
	ct := C.TF_AllocateTensor(dtype, dims, ndims, C.size_t(size))
	if ct != nil && len(data) > 0 {
		copy(unsafe.Slice((*T)(C.TF_TensorData(ct)), len(data)), data)
	}
	return ct
}

// goTensor copies a TF_Tensor returned by TF_SessionRun into Go memory, so
// the C tensor can be deleted right away.
func goTensor(ct *C.TF_Tensor) (*serving.Tensor, error) {
	if ct == nil {
		return nil, serving.Errorf(serving.Internal, "session returned no tensor")
	}
	t := &serving.Tensor{DType: serving.DType(C.TF_TensorType(ct))}
	t.Shape = make([]int64, int(C.TF_NumDims(ct)))
	for i := range t.Shape {
		t.Shape[i] = int64(C.TF_Dim(ct, C.int(i)))
	}
	n := int(C.TF_TensorElementCount(ct))
	data := C.TF_TensorData(ct)
	bytes := uintptr(C.TF_TensorByteSize(ct))
	switch t.DType {
	case serving.DTFloat:
		t.Float32 = copyOut[float32](data, n, bytes)
	case serving.DTInt32:
		t.Int32 = copyOut[int32](data, n, bytes)
	case serving.DTInt64:
		t.Int64 = copyOut[int64](data, n, bytes)
	case serving.DTString:
		if uintptr(n)*C.sizeof_TF_TString > bytes {
			return nil, serving.Errorf(serving.Internal, "string tensor holds %d bytes, too few for %d elements", bytes, n)
		}
		t.Strings = make([][]byte, n)
		for i := range t.Strings {
			var p *C.char
			var size C.size_t
			C.predictor_get_string(ct, C.int64_t(i), &p, &size)
			t.Strings[i] = C.GoBytes(unsafe.Pointer(p), C.int(size))
		}
		return t, nil
	default:
		return nil, serving.Errorf(serving.Internal, "output dtype %s is not supported; export DT_FLOAT, DT_INT32, DT_INT64 or DT_STRING outputs", t.DType)
	}
	if t.Len() != n {
		return nil, serving.Errorf(serving.Internal, "tensor holds %d bytes, too few for %d %s elements", bytes, n, t.DType)
	}
	return t, nil
}

// copyOut copies n elements of type T from C memory, or returns nil when the
// buffer is shorter than n elements (checked by the caller via Len).
func copyOut[T float32 | int32 | int64](data unsafe.Pointer, n int, bytes uintptr) []T {
	if uintptr(n)*unsafe.Sizeof(*new(T)) > bytes {
		return nil
	}
	out := make([]T, n)
	if n > 0 {
		copy(out, unsafe.Slice((*T)(data), n))
	}
	return out
}
