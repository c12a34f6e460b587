package serving

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an Error. Package apierror maps each code to a transport
// status in one place (apierror.HTTPStatus), so packages below it never
// think about HTTP.
type Code string

// Error codes.
const (
	Invalid          Code = "invalid"            // the request is wrong: fix it and retry
	NotFound         Code = "not_found"          // unknown model, version or signature
	MethodNotAllowed Code = "method_not_allowed" // wrong HTTP method for the path
	Forbidden        Code = "forbidden"          // not allowed for this caller (a CORS origin)
	TooLarge         Code = "too_large"          // request body over the limit
	UnsupportedMedia Code = "unsupported_media"  // a Content-Type the endpoint does not take
	Overloaded       Code = "overloaded"         // the queue is full: retry after a pause
	Unavailable      Code = "unavailable"        // not ready or shutting down: retry later
	Timeout          Code = "timeout"            // the deadline passed
	Internal         Code = "internal"           // a bug or an unexpected TensorFlow failure
)

// Error is the predictor's one error type. Message is shown to clients, so it
// says what failed, on which input, and what to do.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain. Context
// errors map to Timeout/Unavailable; anything else is Internal.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Unavailable
	}
	return Internal
}
