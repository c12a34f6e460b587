package reqinfo

import (
	"strings"
	"testing"
)

func TestValidRequestID(t *testing.T) {
	tests := map[string]bool{
		"abc-123":                 true,
		"":                        false,
		"has space":               false,
		"new\nline":               false,
		strings.Repeat("a", 128):  true,
		strings.Repeat("a", 129):  false,
		"ünïcode":                 false,
		"0af7651916cd43dd8448eb2": true,
	}
	for id, want := range tests {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
