package apierror

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving"
)

func TestGRPCCode(t *testing.T) {
	tests := map[serving.Code]codes.Code{
		serving.Invalid:          codes.InvalidArgument,
		serving.UnsupportedMedia: codes.InvalidArgument,
		serving.NotFound:         codes.NotFound,
		serving.MethodNotAllowed: codes.Unimplemented,
		serving.Forbidden:        codes.PermissionDenied,
		serving.TooLarge:         codes.ResourceExhausted,
		serving.Overloaded:       codes.ResourceExhausted,
		serving.Unavailable:      codes.Unavailable,
		serving.Timeout:          codes.DeadlineExceeded,
		serving.Internal:         codes.Internal,
		"something new":          codes.Internal,
	}
	for code, want := range tests {
		if got := GRPCCode(code); got != want {
			t.Errorf("GRPCCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestGRPCErrorKeepsTheRESTMessage(t *testing.T) {
	err := fmt.Errorf("leasing: %w", serving.Errorf(serving.NotFound, `model "nope" not found`))
	st := status.Convert(GRPCError(err))
	if st.Code() != codes.NotFound || st.Message() != err.Error() {
		t.Errorf("GRPCError = %v %q, want NotFound %q", st.Code(), st.Message(), err.Error())
	}
	if got := status.Code(GRPCError(context.DeadlineExceeded)); got != codes.DeadlineExceeded {
		t.Errorf("GRPCError(context.DeadlineExceeded) code = %v", got)
	}
	already := status.Error(codes.Aborted, "x")
	if GRPCError(already) != already {
		t.Error("GRPCError changed a status error")
	}
	if GRPCError(nil) != nil {
		t.Error("GRPCError(nil) != nil")
	}
}
