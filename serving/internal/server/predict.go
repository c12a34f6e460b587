package server

import (
	"net/http"

	"github.com/imgclf/serving"
)

// handlePredict serves POST /v1/models/{name}[/versions/{v}]:predict.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := s.acquire(w, r, route)
	if !ok {
		return
	}
	defer lease.Release()
	sig := lease.Model.Signature()

	body := http.MaxBytesReader(w, r.Body, s.limits.maxBodyBytes)
	req, err := readPredictRequest(body, sig, s.limits)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := checkSignatureName(req.signatureName, sig); err != nil {
		writeError(w, r, err)
		return
	}
	outputs, err := lease.Model.Predict(r.Context(), req.inputs)
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

// checkSignatureName accepts "" (the served signature) or its name.
func checkSignatureName(name string, sig serving.Signature) error {
	if name != "" && name != sig.Name {
		return serving.Errorf(serving.Invalid, "signature %q is not served; this model serves %q", name, sig.Name)
	}
	return nil
}
