package model

import "google.golang.org/protobuf/encoding/protowire"

// Options configure Load.
type Options struct {
	// SignatureName is the SignatureDef to serve; "" means "serving_default".
	SignatureName string
	// IntraOpThreads and InterOpThreads size TensorFlow's thread pools;
	// 0 keeps TensorFlow's default (one thread per core). The pools are
	// process-wide, sized by the first session created.
	IntraOpThreads int
	InterOpThreads int
}

// ConfigProto field numbers (tensorflow/core/protobuf/config.proto).
const (
	configIntraOpThreads = 2
	configInterOpThreads = 5
)

// configProto serializes the ConfigProto fields Options sets, or returns nil
// when none is set so TF_SetConfig is skipped.
func configProto(o Options) []byte {
	var b []byte
	if o.IntraOpThreads > 0 {
		b = protowire.AppendTag(b, configIntraOpThreads, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.IntraOpThreads))
	}
	if o.InterOpThreads > 0 {
		b = protowire.AppendTag(b, configInterOpThreads, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.InterOpThreads))
	}
	return b
}
