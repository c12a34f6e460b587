package tfserving

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
	"github.com/imgclf/serving/internal/rest"
)

// predictRequest is TF Serving's REST predict body: either row format
// ("instances") or columnar format ("inputs").
type predictRequest struct {
	SignatureName string          `json:"signature_name"`
	Instances     json.RawMessage `json:"instances"`
	Inputs        json.RawMessage `json:"inputs"`
}

// parsedRequest is a predict body turned into signature inputs.
type parsedRequest struct {
	signatureName string
	rows          bool // row format: the reply uses "predictions"
	batch         int  // number of instances in row format
	inputs        map[string]*serving.Tensor
}

// readPredictRequest decodes and validates a predict body against sig.
func readPredictRequest(body io.Reader, sig serving.Signature, lim limits) (*parsedRequest, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, bodyError(err, lim.maxBodyBytes)
	}
	codecs := inputCodecs(sig, lim.maxImagePixels)
	if p, ok := fastPredict(buf.Bytes(), codecs); ok {
		return p, nil
	}
	return decodePredictRequest(buf.Bytes(), codecs)
}

// bodyBuffers holds request body buffers; nothing decoded from a body
// aliases it, so a buffer is reused as soon as the body is parsed.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBodyBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 { // do not keep the odd huge body's memory
		bodyBuffers.Put(buf)
	}
}

// decodePredictRequest is the general decoder: any TF Serving predict body,
// with an error message for every way one can be wrong.
func decodePredictRequest(body []byte, codecs []inputCodec) (*parsedRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // a typo like "instance" should not pass silently
	var req predictRequest
	if err := dec.Decode(&req); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, jsonError(err)
		}
		return nil, serving.Errorf(serving.Invalid, "invalid JSON body: unexpected data after the top-level object")
	}
	hasRows, hasCols := present(req.Instances), present(req.Inputs)
	if hasRows == hasCols {
		return nil, serving.Errorf(serving.Invalid, `the body needs exactly one of "instances" (row format) or "inputs" (columnar format)`)
	}
	p := &parsedRequest{signatureName: req.SignatureName, rows: hasRows}
	var err error
	if hasRows {
		var instances []any
		if err := decodeNumbers(req.Instances, &instances); err != nil {
			return nil, serving.Errorf(serving.Invalid, `"instances" must be a list: %v`, err)
		}
		p.batch = len(instances)
		p.inputs, err = rowInputs(instances, codecs)
	} else {
		var inputs any
		if err := decodeNumbers(req.Inputs, &inputs); err != nil {
			return nil, serving.Errorf(serving.Invalid, `invalid "inputs": %v`, err)
		}
		p.inputs, err = columnInputs(inputs, codecs)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// bodyError separates an oversized body (413) from malformed JSON (400).
func bodyError(err error, maxBytes int64) error {
	if tooLarge := rest.BodyTooLarge(err, maxBytes); tooLarge != nil {
		return tooLarge
	}
	return jsonError(err)
}

// jsonError words a predict body's JSON decoding error.
func jsonError(err error) error {
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return serving.Errorf(serving.Invalid, `unknown field %s in the request body; expected "instances" (row format) or "inputs" (columnar format)`, field)
	}
	return serving.Errorf(serving.Invalid, "invalid JSON body: %v", err)
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// decodeNumbers keeps numbers as json.Number so int64 values above 2^53
// survive and each input's dtype decides how to parse them.
func decodeNumbers(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// rowInputs stacks instances along a new first dimension. With one input an
// instance is the bare value (or an object keyed by the input name); with
// several it must be an object keyed by input name.
func rowInputs(instances []any, codecs []inputCodec) (map[string]*serving.Tensor, error) {
	if len(instances) == 0 {
		return nil, serving.Errorf(serving.Invalid, `"instances" is empty; send at least one`)
	}
	out := map[string]*serving.Tensor{}
	inner := map[string][]int64{} // per-instance shape, from instances[0]
	for i, inst := range instances {
		values, err := namedValues(fmt.Sprintf("instances[%d]", i), inst, codecs)
		if err != nil {
			return nil, err
		}
		for _, c := range codecs {
			path := fmt.Sprintf("instances[%d]", i)
			if len(codecs) > 1 {
				path += "." + c.Key
			}
			v := values[c.Key]
			shape := shapeOf(v)
			if i == 0 {
				inner[c.Key] = shape
				out[c.Key] = &serving.Tensor{DType: c.Info.DType, Shape: append([]int64{int64(len(instances))}, shape...)}
			} else if !slices.Equal(shape, inner[c.Key]) {
				return nil, serving.Errorf(serving.Invalid, "%s has shape %v but instances[0] has %v; all instances need the same shape", path, shape, inner[c.Key])
			}
			if err := c.fill(out[c.Key], path, nil, v, shape); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// columnInputs reads "inputs": the bare batch tensor for a one-input
// signature, or an object keyed by input name.
func columnInputs(inputs any, codecs []inputCodec) (map[string]*serving.Tensor, error) {
	values, err := namedValues("inputs", inputs, codecs)
	if err != nil {
		return nil, err
	}
	out := map[string]*serving.Tensor{}
	for _, c := range codecs {
		path := "inputs"
		if _, named := inputs.(map[string]any); named && !isBinary(inputs) {
			path += "." + c.Key
		}
		v := values[c.Key]
		t := &serving.Tensor{DType: c.Info.DType, Shape: shapeOf(v)}
		if err := c.fill(t, path, nil, v, t.Shape); err != nil {
			return nil, err
		}
		out[c.Key] = t
	}
	return out, nil
}

// namedValues maps input key -> JSON value for one instance (or the whole
// columnar body), accepting a bare value when the signature has one input.
func namedValues(path string, v any, codecs []inputCodec) (map[string]any, error) {
	obj, isObj := v.(map[string]any)
	if len(codecs) == 1 && (!isObj || isBinary(v)) {
		return map[string]any{codecs[0].Key: v}, nil
	}
	if !isObj {
		return nil, serving.Errorf(serving.Invalid, "%s: expected an object keyed by input name (%s), got %s", path, codecKeys(codecs), jsonKind(v))
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.ContainsFunc(codecs, func(c inputCodec) bool { return c.Key == k }) {
			return nil, serving.Errorf(serving.Invalid, "%s: unknown input %q; the signature takes %s", path, k, codecKeys(codecs))
		}
	}
	for _, c := range codecs {
		if _, ok := obj[c.Key]; !ok {
			return nil, serving.Errorf(serving.Invalid, "%s: missing input %q; the signature takes %s", path, c.Key, codecKeys(codecs))
		}
	}
	return obj, nil
}

// inputCodecs returns one codec per signature input, sorted by key so
// errors come out in a stable order.
func inputCodecs(sig serving.Signature, maxPixels int64) []inputCodec {
	codecs := make([]inputCodec, 0, len(sig.Inputs))
	for k, info := range sig.Inputs {
		codecs = append(codecs, inputCodec{inputcodec.New(k, info, maxPixels)})
	}
	slices.SortFunc(codecs, func(a, b inputCodec) int { return strings.Compare(a.Key, b.Key) })
	return codecs
}

func codecKeys(codecs []inputCodec) string {
	ks := make(map[string]any, len(codecs))
	for _, c := range codecs {
		ks[c.Key] = nil
	}
	return keys(ks)
}
