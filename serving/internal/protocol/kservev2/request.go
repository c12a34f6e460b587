package kservev2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/imgclf/serving"
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
	return parseV2Inputs(req, bin, sig, lim)
}

// parseV2Inputs checks a decoded infer request (REST's JSON header or a
// gRPC ModelInferRequest) against sig and decodes its inputs, binary ones
// from bin in input order.
func parseV2Inputs(req v2InferRequest, bin []byte, sig serving.Signature, lim limits) (*v2Parsed, error) {
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
