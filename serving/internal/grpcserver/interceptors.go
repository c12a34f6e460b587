package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/apierror"
	"github.com/imgclf/serving/internal/reqinfo"
)

// RequestIDKey is the metadata key carrying the request id both ways, the
// HTTP X-Request-Id header's gRPC spelling.
const RequestIDKey = "x-request-id"

// requestID keeps a caller's x-request-id or makes a new one, echoes it in
// the response header metadata and puts it in the context for logs.
func requestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if ids := md.Get(RequestIDKey); len(ids) > 0 {
			id = ids[0]
		}
	}
	if !reqinfo.ValidID(id) {
		id = reqinfo.NewID()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDKey, id)) // fails only outside a call
	return next(reqinfo.WithID(ctx, id), req)
}

// accessLog writes one JSON line per call, as the HTTP access log does (the
// method in place of the path), and hands the call to obs. The metric's
// status is the HTTP status of the same outcome, so one label set counts
// both transports; the endpoint is what the front end annotated.
func accessLog(logger *slog.Logger, obs reqinfo.Observer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, call *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx, info := reqinfo.New(ctx)
		resp, err := next(ctx, req)
		elapsed := time.Since(start)
		code, httpStatus := codes.OK, http.StatusOK
		if err != nil {
			if info.Err == nil {
				info.Err = err
			}
			code = status.Code(err)
			httpStatus = apierror.HTTPStatus(serving.ErrorCode(info.Err))
		}
		endpoint := info.Endpoint
		switch {
		case endpoint != "":
		case strings.HasPrefix(call.FullMethod, "/grpc.health.v1.Health/"):
			endpoint = "grpc_health" // the probes, as /v2/health/* over HTTP
		default:
			endpoint = "grpc_other"
		}
		if obs != nil {
			model, version := "", ""
			if info.Resolved {
				model, version = info.Model, info.ObservedVersion()
			}
			obs.ObserveRequest(model, version, endpoint, httpStatus, elapsed)
		}
		attrs := []slog.Attr{
			slog.String("method", call.FullMethod),
			slog.String("grpc_code", code.String()),
			slog.Int("status", httpStatus),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("request_id", reqinfo.ID(ctx)),
		}
		if info.Model != "" {
			attrs = append(attrs, slog.String("model", info.Model), slog.String("version", info.VersionString()),
				slog.String("endpoint", info.Endpoint))
		}
		level := slog.LevelInfo
		if info.Err != nil {
			attrs = append(attrs, slog.String("error", info.Err.Error()))
			if httpStatus >= 500 && code != codes.Unavailable {
				level = slog.LevelError
			}
		}
		logger.LogAttrs(ctx, level, "request", attrs...)
		return resp, err
	}
}

// recoverPanics turns a panic in a handler into Internal, logged with its
// stack, so one bad request cannot take the server down.
func recoverPanics(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, call *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				logger.Error("panic serving request", "method", call.FullMethod, "panic", fmt.Sprint(p),
					"request_id", reqinfo.ID(ctx), "stack", string(debug.Stack()))
				err = apierror.GRPCError(serving.Errorf(serving.Internal, "internal error (request id %s); the server logged the details", reqinfo.ID(ctx)))
				reqinfo.SetError(ctx, serving.Errorf(serving.Internal, "panic: %v", p))
			}
		}()
		return next(ctx, req)
	}
}
