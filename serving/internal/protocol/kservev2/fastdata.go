package kservev2

import (
	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
)

// appendPlainStrings is the fast path for a BYTES input's "data": a flat
// list of exactly n strings without escapes (base64 images), each converted
// as v2Bytes does, read without a token stream (TF Serving's fastPredict is
// its counterpart). On anything else it leaves t as it was and returns
// false, and readV2Tokens decides, error messages included
// (FuzzFastV2DataAgrees checks that both agree).
func appendPlainStrings(t *serving.Tensor, data []byte, n int64, codec inputcodec.Codec, contentType string) bool {
	s := inputcodec.NewScanner(data)
	start := len(t.Strings)
	ok := s.List(func() bool {
		v, ok := s.PlainString()
		if !ok {
			return false
		}
		b, err := v2Bytes(string(v), codec, contentType)
		if err != nil {
			return false
		}
		t.Strings = append(t.Strings, b)
		return true
	}) && s.AtEnd() && int64(len(t.Strings)-start) == n
	if !ok {
		t.Strings = t.Strings[:start]
	}
	return ok
}
