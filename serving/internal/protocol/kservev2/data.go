package kservev2

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/inputcodec"
)

// readV2JSON reads "data" into t: a flat list of plain strings (base64
// images) through appendPlainStrings, anything else through readV2Tokens.
func readV2JSON(t *serving.Tensor, data json.RawMessage, n int64, codec inputcodec.Codec, contentType string) error {
	if len(data) == 0 {
		return serving.Errorf(serving.Invalid, `"data" is missing (or send binary data with binary_data_size)`)
	}
	if t.DType == serving.DTString && appendPlainStrings(t, data, n, codec, contentType) {
		return nil
	}
	return readV2Tokens(t, data, n, codec, contentType)
}

// readV2Tokens streams "data" (flat or nested lists, row-major) token by
// token into t, so large numeric tensors never become trees of interfaces.
func readV2Tokens(t *serving.Tensor, data json.RawMessage, n int64, codec inputcodec.Codec, contentType string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var count int64
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return serving.Errorf(serving.Invalid, `invalid "data": %v`, err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '[' {
				depth++
			} else if v == ']' {
				depth--
			} else {
				return serving.Errorf(serving.Invalid, `"data" must hold lists of values, not objects`)
			}
			continue
		}
		if count >= n {
			return serving.Errorf(serving.Invalid, `"data" holds more than the %d elements of shape %v`, n, t.Shape)
		}
		if err := appendV2Value(t, tok, codec, contentType); err != nil {
			return inputcodec.PrefixError(fmt.Sprintf("data[%d]", count), err)
		}
		count++
	}
	if count != n {
		return serving.Errorf(serving.Invalid, `"data" holds %d elements; shape %v needs %d`, count, t.Shape, n)
	}
	return nil
}

func appendV2Value(t *serving.Tensor, tok json.Token, codec inputcodec.Codec, contentType string) error {
	if t.DType == serving.DTString {
		s, ok := tok.(string)
		if !ok {
			return serving.Errorf(serving.Invalid, "expected a string for a BYTES input, got %v", tok)
		}
		b, err := v2Bytes(s, codec, contentType)
		if err != nil {
			return err
		}
		t.Strings = append(t.Strings, b)
		return nil
	}
	num, ok := tok.(json.Number)
	if !ok {
		return serving.Errorf(serving.Invalid, "expected a number for a %s input, got %v", v2Datatype(t.DType), tok)
	}
	if err := t.AppendNumber(string(num)); err != nil {
		return serving.Errorf(serving.Invalid, "%s is not a valid %s", num, v2Datatype(t.DType))
	}
	return nil
}

// v2Bytes turns a BYTES element sent as a JSON string into bytes. JSON
// strings cannot carry raw image bytes, so clients send base64: with
// content_type "base64" it is always decoded; with "str" never; by default
// an image input takes the string as-is when it already is an image and
// else base64-decodes it, and other inputs take it as-is.
func v2Bytes(s string, codec inputcodec.Codec, contentType string) ([]byte, error) {
	var b []byte
	switch strings.ToLower(contentType) {
	case "base64", "b64":
		var err error
		if b, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, serving.Errorf(serving.Invalid, "content_type is base64 but the string is not: %v", err)
		}
	case "", "str", "string":
		b = []byte(s)
		if codec.Image && contentType == "" && !imagecheck.IsImage(b) {
			d, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, serving.Errorf(serving.Invalid, "not an image, nor base64 of one; send images base64-encoded in JSON or as binary tensor data")
			}
			b = d
		}
	default:
		return nil, serving.Errorf(serving.Invalid, "content_type %q is not supported for BYTES; use base64 or str", contentType)
	}
	if err := codec.Check(b); err != nil {
		return nil, err
	}
	return b, nil
}
