package inputcodec

// Scanner reads the small subset of JSON that the request fast paths
// accept: punctuation, and strings of printable ASCII without escapes.
// Whatever it does not understand it refuses, and the caller hands the body
// to its general decoder.
type Scanner struct {
	b []byte
	i int
}

// NewScanner returns a Scanner at the start of b.
func NewScanner(b []byte) *Scanner { return &Scanner{b: b} }

func (s *Scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Consume skips white space and then c, reporting whether c was there.
func (s *Scanner) Consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// AtEnd skips white space and reports whether nothing follows.
func (s *Scanner) AtEnd() bool {
	s.skipSpace()
	return s.i == len(s.b)
}

// PlainString reads a string of printable ASCII without escapes and
// returns its contents, which alias the body.
func (s *Scanner) PlainString() ([]byte, bool) {
	if !s.Consume('"') {
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

// List reads "[" item ("," item)* "]", calling item for each element; it
// reports whether the whole list was read and every item accepted.
func (s *Scanner) List(item func() bool) bool {
	if !s.Consume('[') {
		return false
	}
	for {
		if !item() {
			return false
		}
		if !s.Consume(',') {
			return s.Consume(']')
		}
	}
}
