package serving

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, ""},
		{"direct", Errorf(NotFound, "no model %q", "x"), NotFound},
		{"wrapped", fmt.Errorf("loading: %w", Errorf(Invalid, "bad")), Invalid},
		{"deadline", fmt.Errorf("run: %w", context.DeadlineExceeded), Timeout},
		{"canceled", context.Canceled, Unavailable},
		{"plain", errors.New("boom"), Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
