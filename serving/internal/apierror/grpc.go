package apierror

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving"
)

// GRPCCode is the one place serving.Error codes become gRPC status codes,
// beside HTTPStatus: the same error reaches a REST and a gRPC client with
// the same message and the matching status.
func GRPCCode(code serving.Code) codes.Code {
	switch code {
	case serving.Invalid, serving.UnsupportedMedia:
		return codes.InvalidArgument
	case serving.NotFound:
		return codes.NotFound
	case serving.MethodNotAllowed:
		return codes.Unimplemented
	case serving.Forbidden:
		return codes.PermissionDenied
	case serving.TooLarge, serving.Overloaded:
		return codes.ResourceExhausted
	case serving.Unavailable:
		return codes.Unavailable
	case serving.Timeout:
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

// GRPCError is err as a gRPC status error: its code from GRPCCode, its
// message the text the REST error reply carries. A status error passes
// through unchanged.
func GRPCError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(GRPCCode(serving.ErrorCode(err)), err.Error())
}
