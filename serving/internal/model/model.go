package model

// #include "tfhelpers.h"
import "C"

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/signature"
)

// SavedModel is a loaded SavedModel serving one signature. It implements
// serving.Model; Predict may be called concurrently (a TF_Session allows
// concurrent runs), and Close waits for running calls.
type SavedModel struct {
	dir string
	sig serving.Signature

	// inputs and outputs are the signature's keys in sorted order with the
	// graph endpoints they resolve to, fixed at load time.
	inputs  []endpoint
	outputs []endpoint

	// mu is held for reading by each Predict and for writing by Close, so
	// the session is never deleted under a running call.
	mu      sync.RWMutex
	graph   *C.TF_Graph
	session *C.TF_Session
}

var _ serving.Model = (*SavedModel)(nil)

// endpoint is a signature key bound to a graph tensor.
type endpoint struct {
	key    string
	info   serving.TensorInfo
	output C.TF_Output
}

// Load loads the SavedModel in dir with the "serve" tag and prepares the
// signature opts.SignatureName for Predict.
func Load(dir string, opts Options) (*SavedModel, error) {
	if opts.SignatureName == "" {
		opts.SignatureName = signature.DefaultName
	}
	status := C.TF_NewStatus()
	defer C.TF_DeleteStatus(status)

	sessOpts := C.TF_NewSessionOptions()
	defer C.TF_DeleteSessionOptions(sessOpts)
	if cfg := configProto(opts); len(cfg) > 0 {
		C.TF_SetConfig(sessOpts, unsafe.Pointer(&cfg[0]), C.size_t(len(cfg)), status)
		if err := toError(status); err != nil {
			return nil, fmt.Errorf("setting session config: %w", err)
		}
	}

	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	ctag := C.CString("serve")
	defer C.free(unsafe.Pointer(ctag))
	tags := []*C.char{ctag}
	metaGraph := C.TF_NewBuffer()
	defer C.TF_DeleteBuffer(metaGraph)

	graph := C.TF_NewGraph()
	session := C.predictor_load_session(sessOpts, cdir, &tags[0], graph, metaGraph, status)
	if err := toError(status); err != nil {
		C.TF_DeleteGraph(graph)
		return nil, fmt.Errorf("loading SavedModel %s: %w", dir, err)
	}
	m := &SavedModel{dir: dir, graph: graph, session: session}

	// The MetaGraphDef is only valid once the status says OK.
	meta := C.GoBytes(metaGraph.data, C.int(metaGraph.length))
	if err := m.bind(meta, opts.SignatureName); err != nil {
		m.Close()
		return nil, fmt.Errorf("loading SavedModel %s: %w", dir, err)
	}
	return m, nil
}

// bind finds the signature and resolves each tensor name to a graph output.
func (m *SavedModel) bind(meta []byte, name string) error {
	sig, err := signature.Find(meta, name)
	if err != nil {
		return err
	}
	m.sig = sig
	if m.inputs, err = m.endpoints(sig.Inputs); err != nil {
		return err
	}
	if len(sig.Outputs) == 0 {
		return serving.Errorf(serving.Invalid, "signature %q has no outputs", name)
	}
	m.outputs, err = m.endpoints(sig.Outputs)
	return err
}

func (m *SavedModel) endpoints(infos map[string]serving.TensorInfo) ([]endpoint, error) {
	keys := make([]string, 0, len(infos))
	for k := range infos {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	eps := make([]endpoint, 0, len(keys))
	for _, k := range keys {
		info := infos[k]
		if !info.DType.Supported() {
			return nil, serving.Errorf(serving.Invalid, "tensor %q has dtype %s; the predictor handles DT_FLOAT, DT_INT32, DT_INT64 and DT_STRING", k, info.DType)
		}
		out, err := m.lookup(info.Name)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", k, err)
		}
		eps = append(eps, endpoint{key: k, info: info, output: out})
	}
	return eps, nil
}

// lookup resolves "op:index" (index defaults to 0) to a graph output. The
// split is at the last ':' because operation names may contain none, but
// scoped names never end in one.
func (m *SavedModel) lookup(tensorName string) (C.TF_Output, error) {
	op, index := tensorName, 0
	if i := strings.LastIndexByte(tensorName, ':'); i >= 0 {
		n, err := strconv.Atoi(tensorName[i+1:])
		if err != nil || n < 0 {
			return C.TF_Output{}, serving.Errorf(serving.Internal, "malformed tensor name %q", tensorName)
		}
		op, index = tensorName[:i], n
	}
	cop := C.CString(op)
	defer C.free(unsafe.Pointer(cop))
	oper := C.TF_GraphOperationByName(m.graph, cop)
	if oper == nil {
		return C.TF_Output{}, serving.Errorf(serving.Internal, "operation %q not in graph", op)
	}
	if index >= int(C.TF_OperationNumOutputs(oper)) {
		return C.TF_Output{}, serving.Errorf(serving.Internal, "operation %q has no output %d", op, index)
	}
	return C.TF_Output{oper: oper, index: C.int(index)}, nil
}

// Signature returns the served signature.
func (m *SavedModel) Signature() serving.Signature { return m.sig }

// Close waits for running Predict calls, then frees the session and graph.
// It is safe to call more than once.
func (m *SavedModel) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	if m.session != nil {
		status := C.TF_NewStatus()
		defer C.TF_DeleteStatus(status)
		C.TF_CloseSession(m.session, status)
		err = toError(status)
		C.TF_DeleteSession(m.session, status)
		if err == nil {
			err = toError(status)
		}
		m.session = nil
	}
	if m.graph != nil {
		C.TF_DeleteGraph(m.graph)
		m.graph = nil
	}
	if err != nil {
		return fmt.Errorf("closing SavedModel %s: %w", m.dir, err)
	}
	return nil
}

// toError converts a TF_Status to an error (nil when OK).
func toError(s *C.TF_Status) error {
	return statusError(int(C.TF_GetCode(s)), C.GoString(C.TF_Message(s)))
}
