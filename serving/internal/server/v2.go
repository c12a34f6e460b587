package server

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
)

// KServe's Open Inference Protocol (v2) over REST, with Triton's binary
// tensor data and classification extensions, so tritonclient.http and the
// kserve Python client work unchanged. Errors are {"error": "..."}.

// headerLengthHeader splits a body into its JSON header and binary tensors.
const headerLengthHeader = "Inference-Header-Content-Length"

// v2ServerMetadata is GET /v2.
type v2ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// v2TensorMetadata describes one input or output in model metadata.
type v2TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// v2ModelMetadata is GET /v2/models/{name}[/versions/{v}].
type v2ModelMetadata struct {
	Name     string             `json:"name"`
	Versions []string           `json:"versions"`
	Platform string             `json:"platform"`
	Inputs   []v2TensorMetadata `json:"inputs"`
	Outputs  []v2TensorMetadata `json:"outputs"`
}

// handleV2Server serves GET /v2.
func (s *Server) handleV2Server(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, v2ServerMetadata{Name: s.name, Version: s.version,
		Extensions: []string{"binary_tensor_data", "classification"}})
}

// handleV2Models dispatches /v2/models/... requests.
func (s *Server) handleV2Models(w http.ResponseWriter, r *http.Request) {
	route, err := parseV2ModelPath(r.URL.Path)
	if err != nil {
		writeError(w, r, err)
		return
	}
	annotate(r, route.Model, route.Version, "v2_"+route.Kind.endpoint())
	want := http.MethodGet
	if route.Kind == kindInfer {
		want = http.MethodPost
	}
	if !allowMethod(w, r, want) {
		return
	}
	lease, ok := s.acquire(w, r, route)
	if !ok {
		return
	}
	defer lease.Release()
	annotate(r, route.Model, lease.Version, "v2_"+route.Kind.endpoint())
	switch route.Kind {
	case kindReady:
		writeJSON(w, http.StatusOK, map[string]any{"name": route.Model, "ready": true})
	case kindMetadata:
		s.handleV2Metadata(w, r, route.Model, lease)
	case kindInfer:
		s.handleV2Infer(w, r, route.Model, lease)
	}
}

func (s *Server) handleV2Metadata(w http.ResponseWriter, r *http.Request, name string, lease *Lease) {
	sig := lease.Model.Signature()
	var versions []string
	for _, v := range s.registry.Available(name) {
		versions = append(versions, strconv.FormatInt(v, 10))
	}
	writeJSON(w, http.StatusOK, v2ModelMetadata{Name: name, Versions: versions, Platform: "tensorflow_savedmodel",
		Inputs: v2Tensors(sig.Inputs), Outputs: v2Tensors(sig.Outputs)})
}

func v2Tensors(infos map[string]serving.TensorInfo) []v2TensorMetadata {
	out := make([]v2TensorMetadata, 0, len(infos))
	for k, info := range infos {
		shape := info.Shape
		if shape == nil || info.UnknownRank {
			shape = []int64{}
		}
		out = append(out, v2TensorMetadata{Name: k, Datatype: v2Datatype(info.DType), Shape: shape})
	}
	slices.SortFunc(out, func(a, b v2TensorMetadata) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// handleV2Infer serves POST /v2/models/{name}[/versions/{v}]/infer.
func (s *Server) handleV2Infer(w http.ResponseWriter, r *http.Request, name string, lease *Lease) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.limits.maxBodyBytes))
	if err != nil {
		writeError(w, r, bodyError(err, s.limits.maxBodyBytes))
		return
	}
	headerLen := -1
	if h := r.Header.Get(headerLengthHeader); h != "" {
		if headerLen, err = strconv.Atoi(h); err != nil || headerLen < 0 || headerLen > len(body) {
			writeError(w, r, serving.Errorf(serving.Invalid, "%s %q: want the JSON header's length, at most the body's %d bytes", headerLengthHeader, h, len(body)))
			return
		}
	}
	sig := lease.Model.Signature()
	req, err := readV2Request(body, headerLen, sig, s.limits)
	if err != nil {
		writeError(w, r, err)
		return
	}
	outputs, err := lease.Model.Predict(r.Context(), req.inputs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	header, blobs, err := v2Response(req, name, lease, outputs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(blobs) == 0 {
		writeJSON(w, http.StatusOK, header)
		return
	}
	js, err := json.Marshal(header)
	if err != nil {
		writeError(w, r, serving.Errorf(serving.Internal, "encoding response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerLengthHeader, strconv.Itoa(len(js)))
	w.WriteHeader(http.StatusOK)
	w.Write(js)
	for _, b := range blobs {
		w.Write(b)
	}
}
