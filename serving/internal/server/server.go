// Package server is the predictor's HTTP API: TF Serving's REST surface
// (/v1/models/...) and KServe v2 health probes, over serving.Model.
//
// Image check: before a model runs, every element of a DT_STRING input whose
// signature key contains "image" (e.g. "image_bytes") must start like a
// JPEG, PNG, GIF or BMP file; anything else gets a 400 naming the instance.
// Other string inputs go to the model untouched.
package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/imgclf/serving"
)

// DefaultMaxBodyBytes bounds a request body: 16 MiB holds a batch of dozens
// of base64 photos yet keeps a bad client from exhausting memory.
const DefaultMaxBodyBytes = 16 << 20

// Options configure a Server.
type Options struct {
	Registry     *Registry
	Logger       *slog.Logger // nil discards logs
	MaxBodyBytes int64        // 0 means DefaultMaxBodyBytes
}

// Server serves the HTTP API for the models in its Registry.
type Server struct {
	registry     *Registry
	logger       *slog.Logger
	maxBodyBytes int64
	draining     atomic.Bool
	handler      http.Handler
}

// New returns a Server; use Handler to mount it.
func New(opts Options) *Server {
	s := &Server{registry: opts.Registry, logger: opts.Logger, maxBodyBytes: opts.MaxBodyBytes}
	if s.registry == nil {
		s.registry = NewRegistry()
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxBodyBytes <= 0 {
		s.maxBodyBytes = DefaultMaxBodyBytes
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/models/", s.handleModels)
	mux.HandleFunc("/v2/health/live", s.handleLive)
	mux.HandleFunc("/v2/health/ready", s.handleReady)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, serving.Errorf(serving.NotFound, "no such path %q; see /v1/models/{name}", r.URL.Path))
	})
	// Outermost first: the id exists before the log line, and the log line
	// sees the 500 that Recover writes.
	s.handler = RequestID(AccessLog(s.logger)(Recover(s.logger)(mux)))
	return s
}

// Handler returns the HTTP handler with all middleware applied.
func (s *Server) Handler() http.Handler { return s.handler }

// Drain makes readiness fail so load balancers stop sending new requests,
// while requests already routed here are still served.
func (s *Server) Drain() { s.draining.Store(true) }

// handleModels dispatches every /v1/models/... request.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	route, err := parseModelPath(r.URL.Path)
	if err != nil {
		writeError(w, r, err)
		return
	}
	want := http.MethodGet
	if route.Kind == kindPredict {
		want = http.MethodPost
	}
	if r.Method != want && !(want == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", want)
		writeError(w, r, serving.Errorf(serving.MethodNotAllowed, "%s %s is not allowed; use %s", r.Method, r.URL.Path, want))
		return
	}
	switch route.Kind {
	case kindStatus:
		s.handleStatus(w, r, route)
	case kindMetadata:
		s.handleMetadata(w, r, route)
	case kindPredict:
		s.handlePredict(w, r, route)
	}
}
