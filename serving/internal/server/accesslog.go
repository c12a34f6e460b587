package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// requestInfo is filled in by handlers (model, version, error) and read by
// AccessLog once the response is written.
type requestInfo struct {
	Model    string
	Version  int64  // latestVersion until the registry resolves it
	Endpoint string // e.g. "predict"; "" for paths outside the model APIs
	Resolved bool   // the model (and version) exist: safe as metric labels
	Err      error
}

// resolved marks the annotated model and version as real, so metrics may
// use them as labels (a client cannot mint label values with made-up names).
func resolved(r *http.Request) {
	if info := infoFrom(r.Context()); info != nil {
		info.Resolved = true
	}
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// EndpointFrom returns the endpoint the access log names for the request
// in ctx ("predict", "classify", "classify_image", "v2_infer", ...), or ""
// outside a model API. Model decorators (the prediction log) read it.
func EndpointFrom(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.Endpoint
	}
	return ""
}

// annotate records which model version and endpoint served the request.
func annotate(r *http.Request, model string, version int64, endpoint string) {
	if info := infoFrom(r.Context()); info != nil {
		info.Model, info.Version, info.Endpoint = model, version, endpoint
	}
}

// AccessLog writes one JSON line per request: method, path, status,
// duration in milliseconds, request id, and the model and version when there
// is one; and hands the same facts to obs (metrics) when it is not nil.
func AccessLog(logger *slog.Logger, obs RequestObserver) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			info := &requestInfo{Version: latestVersion}
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
			elapsed := time.Since(start)
			if obs != nil {
				model, version := "", ""
				if info.Resolved {
					model, version = info.Model, observedVersion(info)
				}
				obs.ObserveRequest(model, version, endpointLabel(info, r), rec.status(), elapsed)
			}

			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.status()),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("request_id", RequestIDFrom(r.Context())),
			}
			if info.Model != "" {
				attrs = append(attrs, slog.String("model", info.Model), slog.String("version", versionString(info.Version)),
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

// statusRecorder remembers the status code and whether headers went out.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// wroteHeader tells Recover whether an error reply is still possible.
func (s *statusRecorder) wroteHeader() bool { return s.code != 0 }

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func versionString(v int64) string {
	if v == latestVersion {
		return "latest"
	}
	return strconv.FormatInt(v, 10)
}

// observedVersion is the version label of a request metric: the version
// that served it, "" when none did (unknown model, malformed path).
func observedVersion(info *requestInfo) string {
	if info.Version == latestVersion {
		return ""
	}
	return strconv.FormatInt(info.Version, 10)
}

// endpointLabel keeps the metric's label set small: model endpoints by
// kind, a few fixed paths by name, everything else "other".
func endpointLabel(info *requestInfo, r *http.Request) string {
	if info.Endpoint != "" {
		return info.Endpoint
	}
	switch r.URL.Path {
	case "/v2/health/live", "/v2/health/ready", "/metrics", "/v2":
		return r.URL.Path
	}
	return "other"
}
