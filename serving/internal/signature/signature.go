// Package signature reads SignatureDefs out of a serialized MetaGraphDef.
//
// It decodes only the few fields the predictor needs with protowire instead
// of generated TensorFlow protos: those are not published as a Go module, and
// a hand-written reader of five messages cannot lag TensorFlow releases.
// Field numbers come from tensorflow/core/protobuf/meta_graph.proto.
package signature

import (
	"fmt"
	"sort"
	"strings"

	"github.com/imgclf/serving"
	"google.golang.org/protobuf/encoding/protowire"
)

// InitOpKey is the SignatureDef entry SavedModel uses for its init op; it is
// not a servable signature.
const InitOpKey = "__saved_model_init_op"

// DefaultName is the signature TF Serving uses when a request names none.
const DefaultName = "serving_default"

// Field numbers of the messages read here.
const (
	metaGraphSignatureDef = 5 // MetaGraphDef.signature_def (map)
	mapKey                = 1 // map entry key
	mapValue              = 2 // map entry value
	sigInputs             = 1 // SignatureDef.inputs (map)
	sigOutputs            = 2 // SignatureDef.outputs (map)
	sigMethodName         = 3 // SignatureDef.method_name
	infoName              = 1 // TensorInfo.name
	infoDType             = 2 // TensorInfo.dtype
	infoShape             = 3 // TensorInfo.tensor_shape
	shapeDim              = 2 // TensorShapeProto.dim
	shapeUnknownRank      = 3 // TensorShapeProto.unknown_rank
	dimSize               = 1 // TensorShapeProto.Dim.size
)

// Parse returns every signature in a serialized MetaGraphDef, keyed by name,
// the init op excluded. It never panics, whatever the bytes.
func Parse(metaGraph []byte) (map[string]serving.Signature, error) {
	sigs := map[string]serving.Signature{}
	err := walk(metaGraph, func(num protowire.Number, v []byte, _ uint64) error {
		if num != metaGraphSignatureDef || v == nil {
			return nil
		}
		name, def, err := mapEntry(v)
		if err != nil {
			return fmt.Errorf("signature_def entry: %w", err)
		}
		if name == InitOpKey {
			return nil
		}
		sig, err := parseSignatureDef(def)
		if err != nil {
			return fmt.Errorf("signature %q: %w", name, err)
		}
		sig.Name = name
		sigs[name] = sig
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parsing MetaGraphDef: %w", err)
	}
	return sigs, nil
}

// Find parses metaGraph and returns the signature called name. A missing
// signature is a NotFound error that lists the ones present.
func Find(metaGraph []byte, name string) (serving.Signature, error) {
	sigs, err := Parse(metaGraph)
	if err != nil {
		return serving.Signature{}, err
	}
	sig, ok := sigs[name]
	if !ok {
		return serving.Signature{}, serving.Errorf(serving.NotFound,
			"signature %q not found; the model has: %s", name, strings.Join(Names(sigs), ", "))
	}
	return sig, nil
}

// Names returns the signature names, sorted.
func Names(sigs map[string]serving.Signature) []string {
	names := make([]string, 0, len(sigs))
	for n := range sigs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func parseSignatureDef(b []byte) (serving.Signature, error) {
	sig := serving.Signature{Inputs: map[string]serving.TensorInfo{}, Outputs: map[string]serving.TensorInfo{}}
	err := walk(b, func(num protowire.Number, v []byte, _ uint64) error {
		var dst map[string]serving.TensorInfo
		switch num {
		case sigMethodName:
			sig.MethodName = string(v)
			return nil
		case sigInputs:
			dst = sig.Inputs
		case sigOutputs:
			dst = sig.Outputs
		default:
			return nil
		}
		if v == nil { // wrong wire type: skip rather than invent an entry
			return nil
		}
		key, raw, err := mapEntry(v)
		if err != nil {
			return err
		}
		info, err := parseTensorInfo(raw)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		dst[key] = info
		return nil
	})
	return sig, err
}

func parseTensorInfo(b []byte) (serving.TensorInfo, error) {
	var info serving.TensorInfo
	err := walk(b, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case infoName:
			info.Name = string(v)
		case infoDType:
			info.DType = serving.DType(int32(x))
		case infoShape:
			return parseShape(v, &info)
		}
		return nil
	})
	return info, err
}

func parseShape(b []byte, info *serving.TensorInfo) error {
	info.Shape = []int64{}
	return walk(b, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case shapeUnknownRank:
			info.UnknownRank = x != 0
		case shapeDim:
			size := int64(0) // proto3 default when the field is absent
			err := walk(v, func(num protowire.Number, _ []byte, x uint64) error {
				if num == dimSize {
					size = int64(x)
				}
				return nil
			})
			if err != nil {
				return err
			}
			info.Shape = append(info.Shape, size)
		}
		return nil
	})
}

// mapEntry decodes a map<string, message> entry into its key and raw value.
func mapEntry(b []byte) (key string, value []byte, err error) {
	err = walk(b, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case mapKey:
			key = string(v)
		case mapValue:
			value = v
		}
		return nil
	})
	return key, value, err
}

// walk calls fn for each field of a message: length-delimited fields get
// their bytes in v (non-nil, possibly empty), varints their value in x; other
// wire types are skipped. Malformed input is an error, never a panic.
func walk(b []byte, fn func(num protowire.Number, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			if v == nil {
				v = []byte{}
			}
			if err := fn(num, v, 0); err != nil {
				return err
			}
			b = b[m:]
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			if err := fn(num, nil, x); err != nil {
				return err
			}
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			b = b[m:]
		}
	}
	return nil
}
