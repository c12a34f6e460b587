package model

// #include "tfhelpers.h"
import "C"

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/imgclf/serving"
)

// Predict feeds inputs (keyed by signature key) and returns every signature
// output, keyed likewise. TF_SessionRun cannot be interrupted, so ctx is only
// checked before the run starts.
func (m *SavedModel) Predict(ctx context.Context, inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.checkInputs(inputs); err != nil {
		return nil, err
	}

	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, serving.Errorf(serving.Unavailable, "model %s is closed", m.dir)
	}

	feeds := make([]C.TF_Output, len(m.inputs))
	values := make([]*C.TF_Tensor, len(m.inputs))
	// Deferred first so freed last: an output may share an input's buffer,
	// and TF_DeleteTensor frees string contents only with the last reference.
	defer deleteTensors(values)
	for i, ep := range m.inputs {
		v, err := newTFTensor(inputs[ep.key])
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", ep.key, err)
		}
		feeds[i], values[i] = ep.output, v
	}

	fetches := make([]C.TF_Output, len(m.outputs))
	for i, ep := range m.outputs {
		fetches[i] = ep.output
	}
	results := make([]*C.TF_Tensor, len(m.outputs))
	defer deleteTensors(results)

	status := C.TF_NewStatus() // one per call: TF_Status is not thread-safe
	defer C.TF_DeleteStatus(status)
	C.predictor_session_run(m.session,
		first(feeds), first(values), C.int(len(feeds)),
		first(fetches), first(results), C.int(len(fetches)), status)
	if err := toError(status); err != nil {
		return nil, err
	}

	out := make(map[string]*serving.Tensor, len(m.outputs))
	for i, ep := range m.outputs {
		t, err := goTensor(results[i])
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", ep.key, err)
		}
		out[ep.key] = t
	}
	return out, nil
}

// checkInputs rejects missing, unknown, mistyped or misshapen inputs before
// any C memory is allocated, with messages naming the signature key.
func (m *SavedModel) checkInputs(inputs map[string]*serving.Tensor) error {
	for _, key := range slices.Sorted(maps.Keys(inputs)) {
		if _, ok := m.sig.Inputs[key]; !ok {
			return serving.Errorf(serving.Invalid, "unknown input %q; signature %q takes %s", key, m.sig.Name, m.inputKeys())
		}
	}
	for _, ep := range m.inputs {
		t := inputs[ep.key]
		if t == nil {
			return serving.Errorf(serving.Invalid, "missing input %q; signature %q takes %s", ep.key, m.sig.Name, m.inputKeys())
		}
		if t.DType != ep.info.DType {
			return serving.Errorf(serving.Invalid, "input %q: got %s, the signature wants %s", ep.key, t.DType, ep.info.DType)
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("input %q: %w", ep.key, err)
		}
		if !ep.info.Accepts(t.Shape) {
			return serving.Errorf(serving.Invalid, "input %q: shape %v does not match the signature's %v (-1 = any)", ep.key, t.Shape, ep.info.Shape)
		}
	}
	return nil
}

func (m *SavedModel) inputKeys() string {
	keys := make([]string, 0, len(m.sig.Inputs))
	for k := range m.sig.Inputs {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// deleteTensors frees every non-nil tensor (TF_DeleteTensor accepts NULL).
func deleteTensors(ts []*C.TF_Tensor) {
	for _, t := range ts {
		C.TF_DeleteTensor(t)
	}
}

// first returns a pointer to s[0], or nil for an empty slice, for C calls
// that take an array and a count.
func first[T any](s []T) *T {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}
