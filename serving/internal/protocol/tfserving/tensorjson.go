package tfserving

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
)

// This file converts TF Serving's JSON input values (nested lists of
// numbers, strings and {"b64": ...} objects, decoded with UseNumber) into
// serving.Tensor; response.go goes the other way.

// inputCodec decodes TF Serving's JSON values for one signature input.
type inputCodec struct{ inputcodec.Codec }

// shapeOf follows the first element of each nested list; fill then checks
// that every other list agrees.
func shapeOf(v any) []int64 {
	shape := []int64{}
	for {
		l, ok := v.([]any)
		if !ok {
			return shape
		}
		shape = append(shape, int64(len(l)))
		if len(l) == 0 {
			return shape
		}
		v = l[0]
	}
}

// fill appends the leaves of v, which must have exactly shape, to t. idx
// holds the list indices on the way down; the path string for error
// messages is only built when there is an error, as large float inputs have
// hundreds of thousands of leaves.
func (c inputCodec) fill(t *serving.Tensor, path string, idx []int, v any, shape []int64) error {
	if l, ok := v.([]any); ok {
		if len(shape) == 0 || int64(len(l)) != shape[0] {
			return serving.Errorf(serving.Invalid, "%s: ragged or too deep list; input %q needs every list at one depth to have the same length", at(path, idx), c.Key)
		}
		for i, e := range l {
			if err := c.fill(t, path, append(idx, i), e, shape[1:]); err != nil {
				return err
			}
		}
		return nil
	}
	if len(shape) != 0 {
		return serving.Errorf(serving.Invalid, "%s: expected a list, got %s (input %q needs a regular nested list)", at(path, idx), jsonKind(v), c.Key)
	}
	return c.leaf(t, path, idx, v)
}

func (c inputCodec) leaf(t *serving.Tensor, path string, idx []int, v any) error {
	switch c.Info.DType {
	case serving.DTString:
		b, err := c.bytesLeaf(at(path, idx), v)
		if err != nil {
			return err
		}
		t.Strings = append(t.Strings, b)
		return nil
	case serving.DTFloat, serving.DTInt32, serving.DTInt64:
		n, ok := v.(json.Number)
		if !ok {
			return serving.Errorf(serving.Invalid, "%s: expected a number for %s input %q, got %s", at(path, idx), c.Info.DType, c.Key, jsonKind(v))
		}
		return c.numberLeaf(t, at0(path, idx), n)
	}
	return serving.Errorf(serving.Invalid, "input %q has dtype %s, which the JSON API does not support", c.Key, c.Info.DType)
}

func (c inputCodec) numberLeaf(t *serving.Tensor, path func() string, n json.Number) error {
	if err := t.AppendNumber(string(n)); err != nil {
		return serving.Errorf(serving.Invalid, "%s: %s is not a valid %s for input %q", path(), n, c.Info.DType, c.Key)
	}
	return nil
}

// bytesLeaf accepts {"b64": "..."} for binary data and a plain string for
// text, as TF Serving does.
func (c inputCodec) bytesLeaf(path string, v any) ([]byte, error) {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case map[string]any:
		s, ok := v["b64"].(string)
		if !ok || len(v) != 1 {
			return nil, serving.Errorf(serving.Invalid, `%s: expected {"b64": "<base64>"}, got an object with keys %s`, path, keys(v))
		}
		var err error
		if b, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, serving.Errorf(serving.Invalid, "%s.b64: %v", path, err)
		}
	default:
		return nil, serving.Errorf(serving.Invalid, `%s: expected a string or {"b64": "<base64>"} for input %q, got %s`, path, c.Key, jsonKind(v))
	}
	if err := c.Check(b); err != nil {
		return nil, inputcodec.PrefixError(path, err)
	}
	return b, nil
}

// at renders path plus list indices, e.g. instances[2][0].
func at(path string, idx []int) string {
	var sb strings.Builder
	sb.WriteString(path)
	for _, i := range idx {
		fmt.Fprintf(&sb, "[%d]", i)
	}
	return sb.String()
}

// at0 defers at, so number leaves only pay for it on error.
func at0(path string, idx []int) func() string {
	return func() string { return at(path, idx) }
}

// isBinary reports whether v is a {"b64": ...} value rather than an object
// keyed by input name.
func isBinary(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, has := m["b64"]
	return has && len(m) == 1
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func keys(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, strconv.Quote(k))
	}
	slices.Sort(ks)
	return "[" + strings.Join(ks, ", ") + "]"
}
