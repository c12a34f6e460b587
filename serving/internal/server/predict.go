package server

import (
	"net/http"

	"github.com/imgclf/serving"
)

// handlePredict serves POST /v1/models/{name}[/versions/{v}]:predict.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request, route modelRoute) {
	annotate(r, route.Model, route.Version)
	m, version, err := s.registry.Lookup(route.Model, route.Version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	annotate(r, route.Model, version)
	sig := m.Signature()

	body := http.MaxBytesReader(w, r.Body, s.maxBodyBytes)
	req, err := readPredictRequest(body, sig, s.maxBodyBytes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.signatureName != "" && req.signatureName != sig.Name {
		writeError(w, r, serving.Errorf(serving.Invalid, "signature %q is not served; this model serves %q", req.signatureName, sig.Name))
		return
	}
	outputs, err := m.Predict(r.Context(), req.inputs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := predictResponse(req, outputs)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
