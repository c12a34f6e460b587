package tfserving

import (
	"net/http"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/rest"
)

// handlePredict serves POST /v1/models/{name}[/versions/{v}]:predict.
func (a *API) handlePredict(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := rest.Acquire(w, r, a.registry, route.ref())
	if !ok {
		return
	}
	defer lease.Release()
	sig := lease.Model.Signature()

	body := http.MaxBytesReader(w, r.Body, a.limits.maxBodyBytes)
	req, err := readPredictRequest(body, sig, a.limits)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	if err := checkSignatureName(req.signatureName, sig); err != nil {
		rest.WriteError(w, r, err)
		return
	}
	outputs, err := lease.Model.Predict(r.Context(), req.inputs)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	resp, err := predictResponse(req, outputs)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	rest.WriteJSON(w, http.StatusOK, resp)
}

// checkSignatureName accepts "" (the served signature) or its name.
func checkSignatureName(name string, sig serving.Signature) error {
	if name != "" && name != sig.Name {
		return serving.Errorf(serving.Invalid, "signature %q is not served; this model serves %q", name, sig.Name)
	}
	return nil
}
