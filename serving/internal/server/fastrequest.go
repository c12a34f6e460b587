package server

import (
	"encoding/base64"

	"github.com/imgclf/serving"
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
	if len(codecs) != 1 || codecs[0].info.DType != serving.DTString {
		return nil, false
	}
	c := codecs[0]
	s := jsonScanner{b: body}
	if !s.consume('{') {
		return nil, false
	}
	p = &parsedRequest{}
	var t *serving.Tensor
	seenName := false
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return nil, false
		}
		switch string(key) {
		case "signature_name":
			name, ok := s.plainString()
			if !ok || seenName {
				return nil, false
			}
			seenName, p.signatureName = true, string(name)
		case "instances", "inputs":
			if t != nil {
				return nil, false
			}
			if t, ok = s.stringList(c); !ok {
				return nil, false
			}
			p.rows = string(key) == "instances"
		default:
			return nil, false
		}
		if s.consume(',') {
			continue
		}
		if !s.consume('}') || !s.atEnd() || t == nil {
			return nil, false
		}
		break
	}
	if p.rows {
		p.batch = len(t.Strings)
	}
	p.inputs = map[string]*serving.Tensor{c.key: t}
	return p, true
}

// jsonScanner reads the small subset of JSON that fastPredict accepts.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, reporting whether c was there.
func (s *jsonScanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScanner) atEnd() bool {
	s.skipSpace()
	return s.i == len(s.b)
}

// plainString reads a string of printable ASCII without escapes and returns
// its contents, which alias the body.
func (s *jsonScanner) plainString() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch ch := s.b[s.i]; {
		case ch == '"':
			s.i++
			return s.b[start : s.i-1], true
		case ch == '\\' || ch < 0x20 || ch >= 0x7f:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// list reads "[" item ("," item)* "]", calling item for each element; it
// reports whether the whole list was read and every item accepted.
func (s *jsonScanner) list(item func() bool) bool {
	if !s.consume('[') {
		return false
	}
	for {
		if !item() {
			return false
		}
		if !s.consume(',') {
			return s.consume(']')
		}
	}
}

// stringList reads a non-empty list of {"b64": "..."} or plain string
// values into a [n] tensor, checking each as the codec would.
func (s *jsonScanner) stringList(c inputCodec) (*serving.Tensor, bool) {
	t := &serving.Tensor{DType: c.info.DType}
	ok := s.list(func() bool {
		v, ok := s.stringValue()
		if !ok || c.checkBytes(v) != nil {
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
func (s *jsonScanner) stringValue() ([]byte, bool) {
	if !s.consume('{') {
		v, ok := s.plainString()
		return append([]byte{}, v...), ok // "" is an empty element, not a nil one
	}
	key, ok := s.plainString()
	if !ok || string(key) != "b64" || !s.consume(':') {
		return nil, false
	}
	enc, ok := s.plainString()
	if !ok || !s.consume('}') {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(out, enc)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// appendPlainStrings is the v2 counterpart of fastPredict for a BYTES
// input's "data": a flat list of exactly n strings without escapes (base64
// images), each converted as v2Bytes does. On anything else it leaves t as
// it was and returns false, and readV2Tokens decides, error messages
// included (FuzzFastV2DataAgrees checks that both agree).
func appendPlainStrings(t *serving.Tensor, data []byte, n int64, codec inputCodec, contentType string) bool {
	s := jsonScanner{b: data}
	start := len(t.Strings)
	ok := s.list(func() bool {
		v, ok := s.plainString()
		if !ok {
			return false
		}
		b, err := v2Bytes(string(v), codec, contentType)
		if err != nil {
			return false
		}
		t.Strings = append(t.Strings, b)
		return true
	}) && s.atEnd() && int64(len(t.Strings)-start) == n
	if !ok {
		t.Strings = t.Strings[:start]
	}
	return ok
}
