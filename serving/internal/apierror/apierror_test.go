package apierror

import (
	"testing"

	"github.com/imgclf/serving"
)

func TestHTTPStatus(t *testing.T) {
	tests := map[serving.Code]int{
		serving.Invalid:          400,
		serving.NotFound:         404,
		serving.MethodNotAllowed: 405,
		serving.TooLarge:         413,
		serving.Unavailable:      503,
		serving.Timeout:          504,
		serving.Internal:         500,
		"something new":          500,
	}
	for code, want := range tests {
		if got := HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}
