package rest

import (
	"errors"
	"net/http"

	"github.com/imgclf/serving"
)

// BodyTooLarge returns the 413 error for a body that http.MaxBytesReader
// cut off at maxBytes, or nil when err is anything else.
func BodyTooLarge(err error, maxBytes int64) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return serving.Errorf(serving.TooLarge, "request body is larger than %d bytes; send fewer or smaller images per request", maxBytes)
	}
	return nil
}

// BodyError separates an oversized body (413) from one that does not read
// or decode (400).
func BodyError(err error, maxBytes int64) error {
	if tooLarge := BodyTooLarge(err, maxBytes); tooLarge != nil {
		return tooLarge
	}
	return serving.Errorf(serving.Invalid, "invalid JSON body: %v", err)
}
