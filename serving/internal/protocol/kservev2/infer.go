package kservev2

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/rest"
)

// handleV2Infer serves POST /v2/models/{name}[/versions/{v}]/infer.
func (a *API) handleV2Infer(w http.ResponseWriter, r *http.Request, name string, lease *registry.Lease) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.limits.maxBodyBytes))
	if err != nil {
		rest.WriteError(w, r, rest.BodyError(err, a.limits.maxBodyBytes))
		return
	}
	headerLen := -1
	if h := r.Header.Get(headerLengthHeader); h != "" {
		if headerLen, err = strconv.Atoi(h); err != nil || headerLen < 0 || headerLen > len(body) {
			rest.WriteError(w, r, serving.Errorf(serving.Invalid, "%s %q: want the JSON header's length, at most the body's %d bytes", headerLengthHeader, h, len(body)))
			return
		}
	}
	sig := lease.Model.Signature()
	req, err := readV2Request(body, headerLen, sig, a.limits)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	outputs, err := lease.Model.Predict(r.Context(), req.inputs)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	header, blobs, err := v2Response(req, name, lease, outputs)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	if len(blobs) == 0 {
		rest.WriteJSON(w, http.StatusOK, header)
		return
	}
	js, err := json.Marshal(header)
	if err != nil {
		rest.WriteError(w, r, serving.Errorf(serving.Internal, "encoding response: %v", err))
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
