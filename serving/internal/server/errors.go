package server

import (
	"encoding/json"
	"net/http"

	"github.com/imgclf/serving"
)

// httpStatus is the one place serving.Error codes become HTTP statuses.
func httpStatus(code serving.Code) int {
	switch code {
	case serving.Invalid:
		return http.StatusBadRequest
	case serving.NotFound:
		return http.StatusNotFound
	case serving.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case serving.Forbidden:
		return http.StatusForbidden
	case serving.TooLarge:
		return http.StatusRequestEntityTooLarge
	case serving.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case serving.Overloaded:
		return http.StatusTooManyRequests
	case serving.Unavailable:
		return http.StatusServiceUnavailable
	case serving.Timeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// retryAfterSeconds is what 429 and 503 replies ask clients to wait: a
// queue on these models drains in well under a second, so 1 second spreads
// retries without idling capacity.
const retryAfterSeconds = "1"

// errorBody is TF Serving's error shape.
type errorBody struct {
	Error string `json:"error"`
}

// writeError replies with err's status and {"error": message}, and records
// the error for the access log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if info := infoFrom(r.Context()); info != nil {
		info.Err = err
	}
	code := serving.ErrorCode(err)
	if code == serving.Overloaded || code == serving.Unavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, httpStatus(code), errorBody{Error: err.Error()})
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
