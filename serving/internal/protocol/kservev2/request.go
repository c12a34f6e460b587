package kservev2

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/inputcodec"
)

// v2InferRequest is the JSON part of an infer request. Unknown fields (the
// kserve client adds "model_name") are ignored, as the protocol allows.
type v2InferRequest struct {
	ID         string              `json:"id"`
	Parameters v2Parameters        `json:"parameters"`
	Inputs     []v2Input           `json:"inputs"`
	Outputs    []v2RequestedOutput `json:"outputs"`
}

type v2Input struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters v2Parameters    `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

type v2RequestedOutput struct {
	Name       string       `json:"name"`
	Parameters v2Parameters `json:"parameters"`
}

// v2Parameters holds the parameters the predictor understands; others are
// ignored.
type v2Parameters struct {
	BinaryDataSize   *int64 `json:"binary_data_size"`   // input: its bytes follow the JSON header
	BinaryData       bool   `json:"binary_data"`        // output: send it binary
	BinaryDataOutput bool   `json:"binary_data_output"` // request: send every output binary
	Classification   int    `json:"classification"`     // output: top-k "score:index:label" strings
	ContentType      string `json:"content_type"`       // BYTES input: "base64" or "str"
}

// v2Parsed is an infer request turned into signature inputs.
type v2Parsed struct {
	id      string
	binary  bool // every output binary (binary_data_output)
	outputs []v2RequestedOutput
	inputs  map[string]*serving.Tensor
}

// v2 datatypes of the TensorFlow dtypes the predictor handles.
func v2Datatype(d serving.DType) string {
	switch d {
	case serving.DTFloat:
		return "FP32"
	case serving.DTInt32:
		return "INT32"
	case serving.DTInt64:
		return "INT64"
	case serving.DTString:
		return "BYTES"
	}
	return d.String()
}

// readV2Request parses body (JSON, or a JSON header of headerLen bytes
// followed by binary tensors when headerLen >= 0) against sig.
func readV2Request(body []byte, headerLen int, sig serving.Signature, lim limits) (*v2Parsed, error) {
	js, bin := body, []byte(nil)
	if headerLen >= 0 {
		js, bin = body[:headerLen], body[headerLen:]
	}
	var req v2InferRequest
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&req); err != nil {
		return nil, serving.Errorf(serving.Invalid, "invalid JSON in the infer request: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, serving.Errorf(serving.Invalid, "invalid JSON in the infer request: unexpected data after the top-level object (binary tensors need the %s header)", headerLengthHeader)
	}
	if len(req.Inputs) == 0 {
		return nil, serving.Errorf(serving.Invalid, `"inputs" is empty; the model takes %s`, inputcodec.Names(sig.Inputs))
	}
	p := &v2Parsed{id: req.ID, binary: req.Parameters.BinaryDataOutput, outputs: req.Outputs, inputs: map[string]*serving.Tensor{}}
	for i, in := range req.Inputs {
		info, ok := sig.Inputs[in.Name]
		switch {
		case !ok:
			return nil, serving.Errorf(serving.Invalid, "inputs[%d]: unknown input %q; the model takes %s", i, in.Name, inputcodec.Names(sig.Inputs))
		case p.inputs[in.Name] != nil:
			return nil, serving.Errorf(serving.Invalid, "inputs[%d]: input %q given twice", i, in.Name)
		}
		var err error
		var t *serving.Tensor
		t, bin, err = readV2Input(in, info, bin, lim)
		if err != nil {
			return nil, inputcodec.PrefixError(fmt.Sprintf("input %q", in.Name), err)
		}
		p.inputs[in.Name] = t
	}
	if len(bin) > 0 {
		return nil, serving.Errorf(serving.Invalid, "%d bytes of binary data follow the inputs' binary_data_size total", len(bin))
	}
	for _, k := range slices.Sorted(maps.Keys(sig.Inputs)) {
		if p.inputs[k] == nil {
			return nil, serving.Errorf(serving.Invalid, "missing input %q; the model takes %s", k, inputcodec.Names(sig.Inputs))
		}
	}
	for i, o := range req.Outputs {
		if _, ok := sig.Outputs[o.Name]; !ok {
			return nil, serving.Errorf(serving.Invalid, "outputs[%d]: unknown output %q; the model has %s", i, o.Name, inputcodec.Names(sig.Outputs))
		}
	}
	return p, nil
}

// readV2Input decodes one input from JSON data or from the front of bin,
// returning the rest of bin.
func readV2Input(in v2Input, info serving.TensorInfo, bin []byte, lim limits) (*serving.Tensor, []byte, error) {
	if want := v2Datatype(info.DType); in.Datatype != want {
		return nil, nil, serving.Errorf(serving.Invalid, "datatype %q does not match the model's %s", in.Datatype, want)
	}
	if in.Shape == nil {
		return nil, nil, serving.Errorf(serving.Invalid, `"shape" is missing`)
	}
	n := int64(1)
	for _, d := range in.Shape {
		if d < 0 {
			return nil, nil, serving.Errorf(serving.Invalid, "shape %v has a negative dimension", in.Shape)
		}
		if d > 0 && n > lim.maxBodyBytes/d { // more elements than the body could hold
			return nil, nil, serving.Errorf(serving.Invalid, "shape %v holds more elements than a %d-byte request can carry", in.Shape, lim.maxBodyBytes)
		}
		n *= d
	}
	if !info.Accepts(in.Shape) {
		return nil, nil, serving.Errorf(serving.Invalid, "shape %v does not match the model's %v (-1 = any size)", in.Shape, info.Shape)
	}
	if n == 0 {
		return nil, nil, serving.Errorf(serving.Invalid, "shape %v is empty; send at least one element", in.Shape)
	}
	t := &serving.Tensor{DType: info.DType, Shape: in.Shape}
	codec := inputcodec.New(in.Name, info, lim.maxImagePixels)
	var err error
	if size := in.Parameters.BinaryDataSize; size != nil {
		if *size < 0 || *size > int64(len(bin)) {
			return nil, nil, serving.Errorf(serving.Invalid, "binary_data_size %d but only %d bytes of binary data remain", *size, len(bin))
		}
		if len(in.Data) > 0 {
			return nil, nil, serving.Errorf(serving.Invalid, `both "data" and binary_data_size given`)
		}
		err = readV2Binary(t, bin[:*size], n, codec)
		bin = bin[*size:]
	} else {
		err = readV2JSON(t, in.Data, n, codec, in.Parameters.ContentType)
	}
	if err != nil {
		return nil, nil, err
	}
	return t, bin, nil
}

// readV2Binary decodes Triton's binary tensor format: little-endian
// numbers, or for BYTES each element as a 4-byte little-endian length and
// its bytes.
func readV2Binary(t *serving.Tensor, b []byte, n int64, codec inputcodec.Codec) error {
	if t.DType == serving.DTString {
		t.Strings = make([][]byte, 0, n)
		for i := int64(0); i < n; i++ {
			if len(b) < 4 {
				return serving.Errorf(serving.Invalid, "binary data ends inside element %d's length prefix", i)
			}
			size := binary.LittleEndian.Uint32(b)
			if uint64(size) > uint64(len(b)-4) {
				return serving.Errorf(serving.Invalid, "element %d claims %d bytes but %d remain", i, size, len(b)-4)
			}
			el := b[4 : 4+size : 4+size]
			b = b[4+size:]
			if err := codec.Check(el); err != nil {
				return inputcodec.PrefixError(fmt.Sprintf("element %d", i), err)
			}
			t.Strings = append(t.Strings, el)
		}
		if len(b) != 0 {
			return serving.Errorf(serving.Invalid, "%d bytes of binary data left after %d elements", len(b), n)
		}
		return nil
	}
	size := int64(4)
	if t.DType == serving.DTInt64 {
		size = 8
	}
	if int64(len(b)) != n*size {
		return serving.Errorf(serving.Invalid, "binary_data_size is %d bytes; shape needs %d elements of %d bytes", len(b), n, size)
	}
	switch t.DType {
	case serving.DTFloat:
		t.Float32 = make([]float32, n)
		for i := range t.Float32 {
			t.Float32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case serving.DTInt32:
		t.Int32 = make([]int32, n)
		for i := range t.Int32 {
			t.Int32[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case serving.DTInt64:
		t.Int64 = make([]int64, n)
		for i := range t.Int64 {
			t.Int64[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return nil
}

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
	var err error
	switch t.DType {
	case serving.DTFloat:
		var f float64
		if f, err = strconv.ParseFloat(string(num), 32); err == nil {
			t.Float32 = append(t.Float32, float32(f))
		}
	case serving.DTInt32:
		var i int64
		if i, err = strconv.ParseInt(string(num), 10, 32); err == nil {
			t.Int32 = append(t.Int32, int32(i))
		}
	case serving.DTInt64:
		var i int64
		if i, err = strconv.ParseInt(string(num), 10, 64); err == nil {
			t.Int64 = append(t.Int64, i)
		}
	}
	if err != nil {
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
