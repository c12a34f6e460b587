// Package server is the predictor's HTTP API over serving.Model: TF
// Serving's REST surface (/v1/models/...), KServe's Open Inference Protocol
// v2 (/v2/...), image classification (:classify, :classify-image), health
// probes and /metrics.
//
// Image check: before a model runs, every element of a DT_STRING input whose
// signature key contains "image" (e.g. "image_bytes") must be a JPEG, PNG,
// GIF or BMP whose header parses, whose size is within --max-image-pixels
// (checked from the header, before any pixel is decoded), and, for a JPEG,
// that is not cut short; anything else gets a 4xx naming the element.
// Other string inputs go to the model untouched.
package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/imgclf/serving"
)

// DefaultMaxBodyBytes bounds a request body: 16 MiB holds a batch of dozens
// of base64 photos yet keeps a bad client from exhausting memory.
const DefaultMaxBodyBytes = 16 << 20

// RequestObserver sees every finished request (Prometheus metrics).
type RequestObserver interface {
	ObserveRequest(model, version, endpoint string, status int, elapsed time.Duration)
}

// Options configure a Server.
type Options struct {
	Registry       *Registry
	Logger         *slog.Logger    // nil discards logs
	MaxBodyBytes   int64           // 0 means DefaultMaxBodyBytes
	MaxImagePixels int64           // 0 means DefaultMaxImagePixels
	Observer       RequestObserver // nil records nothing
	Metrics        http.Handler    // served at GET /metrics when set
	ServerName     string          // GET /v2 "name"; default "imgclf-predictor"
	ServerVersion  string          // GET /v2 "version"
	MaxImages      int             // images in one :classify-image request; 0 means DefaultMaxImages
	UI             bool            // serve the web page at / and /ui/
	CORSOrigins    []string        // origins allowed to call the API from a browser; "*" for any
}

// Server serves the HTTP API for the models in its Registry.
type Server struct {
	registry *Registry
	logger   *slog.Logger
	limits   limits
	name     string
	version  string
	draining atomic.Bool
	handler  http.Handler
}

// New returns a Server; use Handler to mount it.
func New(opts Options) *Server {
	s := &Server{registry: opts.Registry, logger: opts.Logger, name: opts.ServerName, version: opts.ServerVersion,
		limits: limits{maxBodyBytes: opts.MaxBodyBytes, maxImagePixels: opts.MaxImagePixels, maxImages: opts.MaxImages}}
	if s.registry == nil {
		s.registry = NewRegistry()
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.limits.maxBodyBytes <= 0 {
		s.limits.maxBodyBytes = DefaultMaxBodyBytes
	}
	if s.limits.maxImagePixels <= 0 {
		s.limits.maxImagePixels = DefaultMaxImagePixels
	}
	if s.limits.maxImages <= 0 {
		s.limits.maxImages = DefaultMaxImages
	}
	if s.name == "" {
		s.name = "imgclf-predictor"
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/models/", s.handleModels)
	mux.HandleFunc("/v2/models/", s.handleV2Models)
	mux.HandleFunc("/v2", s.handleV2Server)
	mux.HandleFunc("/v2/repository/index", s.handleRepositoryIndex)
	mux.HandleFunc("/v2/health/live", s.handleLive)
	mux.HandleFunc("/v2/health/ready", s.handleReady)
	if opts.Metrics != nil {
		mux.Handle("/metrics", opts.Metrics)
	}
	if opts.UI {
		s.mountUI(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, serving.Errorf(serving.NotFound, "no such path %q; see /v1/models/{name} or /v2/models/{name}", r.URL.Path))
	})
	// Outermost first: the id exists before the log line, and the log line
	// sees the 500 that Recover writes.
	s.handler = RequestID(AccessLog(s.logger, opts.Observer)(Recover(s.logger)(CORS(opts.CORSOrigins)(s.closeWhenDraining(mux)))))
	return s
}

// closeWhenDraining answers with "Connection: close" once Drain was called,
// so keep-alive clients open their next connection to another replica
// instead of writing a request into a connection that shutdown is about to
// close.
func (s *Server) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// Handler returns the HTTP handler with all middleware applied.
func (s *Server) Handler() http.Handler { return s.handler }

// Drain makes readiness fail so load balancers stop sending new requests,
// while requests already routed here are still served; each response from
// then on closes its connection.
func (s *Server) Drain() { s.draining.Store(true) }

// handleModels dispatches every /v1/models/... request.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	route, err := parseModelPath(r.URL.Path)
	if err != nil {
		writeError(w, r, err)
		return
	}
	annotate(r, route.Model, route.Version, route.Kind.endpoint())
	want := http.MethodGet
	if route.Kind == kindPredict || route.Kind == kindClassify || route.Kind == kindClassifyImage {
		want = http.MethodPost
	}
	if !allowMethod(w, r, want) {
		return
	}
	switch route.Kind {
	case kindStatus:
		s.handleStatus(w, r, route)
	case kindMetadata:
		s.handleMetadata(w, r, route)
	case kindCard:
		s.handleCard(w, r, route)
	case kindPredict:
		s.handlePredict(w, r, route)
	case kindClassify:
		s.handleClassify(w, r, route)
	case kindClassifyImage:
		s.handleClassifyImage(w, r, route)
	}
}

// acquire resolves the route's version (or label) to a lease, writing the
// error reply when there is none. The caller must Release the lease.
func (s *Server) acquire(w http.ResponseWriter, r *http.Request, route modelRoute) (*Lease, bool) {
	version := route.Version
	if route.Label != "" {
		v, err := s.registry.ResolveLabel(route.Model, route.Label)
		if err != nil {
			writeError(w, r, err)
			return nil, false
		}
		version = v
	}
	lease, err := s.registry.Acquire(route.Model, version)
	if err != nil {
		writeError(w, r, err)
		return nil, false
	}
	annotate(r, route.Model, lease.Version, route.Kind.endpoint())
	resolved(r)
	return lease, true
}

// allowMethod answers 405 unless r uses want (HEAD passes for GET).
func allowMethod(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Method == want || (want == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", want)
	writeError(w, r, serving.Errorf(serving.MethodNotAllowed, "%s %s is not allowed; use %s", r.Method, r.URL.Path, want))
	return false
}
