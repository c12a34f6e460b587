package grpcserver

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protov2 "google.golang.org/protobuf/proto"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/apierror"
	"github.com/imgclf/serving/internal/reqinfo"
)

// malformed answers a request whose bytes are not a valid message of the
// method's request type with InvalidArgument, as the REST front ends answer
// malformed JSON with 400. grpc-go itself answers it with Internal, before
// any interceptor runs, which reads as a server fault. So the server's codec
// does not fail: it records the message it could not parse and leaves it
// empty, and the interceptors, which see the message next, refuse it.
type malformed struct {
	encoding.CodecV2
	failed sync.Map // request message (a pointer) -> its parse error
}

func newMalformed() *malformed {
	return &malformed{CodecV2: encoding.GetCodecV2(proto.Name)}
}

// Unmarshal parses data into v; a parse error is kept for the interceptor.
func (m *malformed) Unmarshal(data mem.BufferSlice, v any) error {
	if err := m.CodecV2.Unmarshal(data, v); err != nil {
		if msg, ok := v.(protov2.Message); ok {
			protov2.Reset(msg)
		}
		m.failed.Store(v, err)
	}
	return nil
}

// refusal is the error for req when the codec could not parse it, else nil.
func (m *malformed) refusal(ctx context.Context, req any, method string) error {
	perr, ok := m.failed.LoadAndDelete(req)
	if !ok {
		return nil
	}
	name := method[strings.LastIndex(method, "/")+1:]
	err := serving.Errorf(serving.Invalid, "the request is not a valid %s request message: %v; send the method's protobuf message", name, perr)
	reqinfo.SetError(ctx, err)
	return apierror.GRPCError(err)
}

// unary refuses a request the codec could not parse; it runs inside the
// access log, so the refusal is logged and counted like any other.
func (m *malformed) unary(ctx context.Context, req any, call *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := m.refusal(ctx, req, call.FullMethod); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

// stream refuses a streamed message the codec could not parse (grpc.health.v1
// Watch), so no parse error is left behind in the map.
func (m *malformed) stream(srv any, ss grpc.ServerStream, call *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	return next(srv, checkedStream{ss, m, call.FullMethod})
}

type checkedStream struct {
	grpc.ServerStream
	m      *malformed
	method string
}

func (s checkedStream) RecvMsg(v any) error {
	if err := s.ServerStream.RecvMsg(v); err != nil {
		return err
	}
	return s.m.refusal(s.Context(), v, s.method)
}
