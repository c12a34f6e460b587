// Package apierror is the one place where the predictor's error codes
// (serving.Code) become the statuses of the transports that serve them:
// HTTP (HTTPStatus, and which codes ask the client to retry later) and
// gRPC (GRPCCode, GRPCError in grpc.go). It knows no protocol's paths or
// bodies; package rest writes the HTTP error reply from it.
package apierror

import (
	"net/http"

	"github.com/imgclf/serving"
)

// HTTPStatus is the one place serving.Error codes become HTTP statuses.
func HTTPStatus(code serving.Code) int {
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

// RetryLater reports whether a reply with code asks the client to retry
// after RetryAfterSeconds (429 and 503, with Retry-After over HTTP).
func RetryLater(code serving.Code) bool {
	return code == serving.Overloaded || code == serving.Unavailable
}

// RetryAfterSeconds is what 429 and 503 replies ask clients to wait: a
// queue on these models drains in well under a second, so 1 second spreads
// retries without idling capacity.
const RetryAfterSeconds = "1"
