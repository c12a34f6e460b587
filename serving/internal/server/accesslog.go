package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/imgclf/serving/internal/reqinfo"
)

// AccessLog writes one JSON line per request: method, path, status,
// duration in milliseconds, request id, and the model and version when there
// is one; and hands the same facts to obs (metrics) when it is not nil.
func AccessLog(logger *slog.Logger, obs reqinfo.Observer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ctx, info := reqinfo.New(r.Context())
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(ctx))
			elapsed := time.Since(start)
			if obs != nil {
				model, version := "", ""
				if info.Resolved {
					model, version = info.Model, info.ObservedVersion()
				}
				obs.ObserveRequest(model, version, endpointLabel(info, r), rec.status(), elapsed)
			}

			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.status()),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("request_id", reqinfo.ID(r.Context())),
			}
			if info.Model != "" {
				attrs = append(attrs, slog.String("model", info.Model), slog.String("version", info.VersionString()),
					slog.String("endpoint", info.Endpoint))
			}
			level := slog.LevelInfo
			if info.Err != nil {
				attrs = append(attrs, slog.String("error", info.Err.Error()))
				if rec.status() >= 500 {
					level = slog.LevelError
				}
			}
			logger.LogAttrs(r.Context(), level, "request", attrs...)
		})
	}
}

// endpointLabel keeps the metric's label set small: model endpoints by
// kind, a few fixed paths by name, everything else "other".
func endpointLabel(info *reqinfo.Info, r *http.Request) string {
	if info.Endpoint != "" {
		return info.Endpoint
	}
	switch r.URL.Path {
	case "/v2/health/live", "/v2/health/ready", "/metrics":
		return r.URL.Path
	}
	return "other"
}
