// Package rest is what the REST front ends (TF Serving, KServe v2, image
// upload) and the HTTP assembly share: JSON replies, the error reply
// (statuses from package apierror), the method check, request body errors,
// and the model reference every model path carries, leased from the
// registry. It knows no protocol's paths or bodies.
package rest

import (
	"encoding/json"
	"net/http"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/apierror"
	"github.com/imgclf/serving/internal/reqinfo"
)

// errorBody is TF Serving's error shape, used by every HTTP error reply.
type errorBody struct {
	Error string `json:"error"`
}

// WriteError replies with err's status and {"error": message}, and records
// the error for the access log.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	reqinfo.SetError(r.Context(), err)
	code := serving.ErrorCode(err)
	if apierror.RetryLater(code) {
		w.Header().Set("Retry-After", apierror.RetryAfterSeconds)
	}
	WriteJSON(w, apierror.HTTPStatus(code), errorBody{Error: err.Error()})
}

// WriteJSON writes v as the JSON response body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
