// Package serving holds the predictor's domain types: tensors, signatures,
// the Model interface the HTTP layer depends on, and the one error type.
// It has no cgo and no dependencies, so every other package can import it and
// most tests run without TensorFlow.
package serving

import "context"

// Model is a loaded, servable model version. Implementations must allow
// concurrent Predict calls; Close waits for in-flight calls to finish.
type Model interface {
	// Signature describes the inputs and outputs Predict accepts and returns.
	Signature() Signature
	// Predict runs the signature. Inputs and outputs are keyed by signature
	// key (e.g. "image_bytes"), never by graph tensor name.
	Predict(ctx context.Context, inputs map[string]*Tensor) (map[string]*Tensor, error)
	// Close releases the model; later Predict calls fail with Unavailable.
	Close() error
}

// Signature is one SignatureDef of a SavedModel.
type Signature struct {
	Name       string
	MethodName string // e.g. "tensorflow/serving/predict"
	Inputs     map[string]TensorInfo
	Outputs    map[string]TensorInfo
}

// TensorInfo describes one signature input or output.
type TensorInfo struct {
	Name        string // graph tensor name, e.g. "serving_default_image_bytes:0"
	DType       DType
	Shape       []int64 // -1 marks an unknown dimension
	UnknownRank bool    // true when even the number of dimensions is unknown
}

// Accepts reports whether a tensor of this shape fits the signature's shape,
// where -1 is any size; an unknown-rank signature accepts everything.
func (info TensorInfo) Accepts(shape []int64) bool {
	if info.UnknownRank {
		return true
	}
	if len(shape) != len(info.Shape) {
		return false
	}
	for i, d := range info.Shape {
		if d >= 0 && d != shape[i] {
			return false
		}
	}
	return true
}
