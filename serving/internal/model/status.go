package model

import (
	"strings"

	"github.com/imgclf/serving"
)

// TensorFlow status codes (tf_status.h; the same numbers as gRPC's).
const (
	tfOK                 = 0
	tfCancelled          = 1
	tfInvalidArgument    = 3
	tfDeadlineExceeded   = 4
	tfNotFound           = 5
	tfResourceExhausted  = 8
	tfFailedPrecondition = 9
	tfAborted            = 10
	tfOutOfRange         = 11
	tfUnavailable        = 14
)

// errorCode maps a TensorFlow status code to a serving.Code. Errors caused by
// the request's data (an undecodable image raises INVALID_ARGUMENT inside the
// graph) must become Invalid, so clients get a 400 and do not retry.
func errorCode(tfCode int) serving.Code {
	switch tfCode {
	case tfInvalidArgument, tfOutOfRange:
		return serving.Invalid
	case tfNotFound:
		return serving.NotFound
	case tfDeadlineExceeded:
		return serving.Timeout
	case tfCancelled, tfAborted, tfResourceExhausted, tfUnavailable:
		return serving.Unavailable
	}
	return serving.Internal
}

// statusError turns a non-OK TensorFlow status into a *serving.Error.
// TensorFlow appends graph node details after the first line; clients only
// need that first line when the fault is theirs, while internal errors keep
// everything for whoever reads the logs.
func statusError(tfCode int, msg string) error {
	if tfCode == tfOK {
		return nil
	}
	code := errorCode(tfCode)
	if code == serving.Invalid {
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		msg = strings.TrimSpace(msg)
	}
	return &serving.Error{Code: code, Message: msg}
}
