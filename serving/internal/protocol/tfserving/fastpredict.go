package tfserving

import (
	"encoding/base64"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
)

// fastPredict decodes the predict body that image clients send almost every
// time, for a signature with one string input:
//
//	{"instances": [{"b64": "..."}, ...]}   (or "inputs", or plain strings)
//
// optionally with "signature_name", without building a generic JSON tree:
// base64 is decoded straight from the body into the tensor. It accepts only
// bodies it understands completely and whose images pass the input checks;
// for anything else it returns ok=false and the general decoder decides,
// error messages included, so the two can never disagree on a reply
// (FuzzFastPredictAgrees checks that).
func fastPredict(body []byte, codecs []inputCodec) (p *parsedRequest, ok bool) {
	if len(codecs) != 1 || codecs[0].Info.DType != serving.DTString {
		return nil, false
	}
	c := codecs[0]
	s := inputcodec.NewScanner(body)
	if !s.Consume('{') {
		return nil, false
	}
	p = &parsedRequest{}
	var t *serving.Tensor
	seenName := false
	for {
		key, ok := s.PlainString()
		if !ok || !s.Consume(':') {
			return nil, false
		}
		switch string(key) {
		case "signature_name":
			name, ok := s.PlainString()
			if !ok || seenName {
				return nil, false
			}
			seenName, p.signatureName = true, string(name)
		case "instances", "inputs":
			if t != nil {
				return nil, false
			}
			if t, ok = stringList(s, c); !ok {
				return nil, false
			}
			p.rows = string(key) == "instances"
		default:
			return nil, false
		}
		if s.Consume(',') {
			continue
		}
		if !s.Consume('}') || !s.AtEnd() || t == nil {
			return nil, false
		}
		break
	}
	if p.rows {
		p.batch = len(t.Strings)
	}
	p.inputs = map[string]*serving.Tensor{c.Key: t}
	return p, true
}

// stringList reads a non-empty list of {"b64": "..."} or plain string
// values into a [n] tensor, checking each as the codec would.
func stringList(s *inputcodec.Scanner, c inputCodec) (*serving.Tensor, bool) {
	t := &serving.Tensor{DType: c.Info.DType}
	ok := s.List(func() bool {
		v, ok := stringValue(s)
		if !ok || c.Check(v) != nil {
			return false
		}
		t.Strings = append(t.Strings, v)
		return true
	})
	if !ok {
		return nil, false
	}
	t.Shape = []int64{int64(len(t.Strings))}
	return t, true
}

// stringValue reads {"b64": "..."} (decoded) or a plain string (copied).
func stringValue(s *inputcodec.Scanner) ([]byte, bool) {
	if !s.Consume('{') {
		v, ok := s.PlainString()
		return append([]byte{}, v...), ok // "" is an empty element, not a nil one
	}
	key, ok := s.PlainString()
	if !ok || string(key) != "b64" || !s.Consume(':') {
		return nil, false
	}
	enc, ok := s.PlainString()
	if !ok || !s.Consume('}') {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(out, enc)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}
