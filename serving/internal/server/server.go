// Package server assembles the predictor's HTTP API: one ServeMux with
// every protocol's routes (package tfserving for /v1/models/..., whose
// :classify-image goes to package imageupload; package kservev2 for /v2/...),
// the health probes, /metrics and the web page, behind one middleware chain
// (request id, access log and metrics, recover, CORS, Connection: close
// while draining). The protocols themselves live in internal/protocol; what
// they share (registry, input decoding, error statuses, request info) lives
// in packages of its own.
package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/protocol/imageupload"
	"github.com/imgclf/serving/internal/protocol/kservev2"
	"github.com/imgclf/serving/internal/protocol/tfserving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// Defaults of Options' limits (and of the flags that set them).
const (
	// DefaultMaxBodyBytes bounds a request body: 16 MiB holds a batch of
	// dozens of base64 photos yet keeps a bad client from exhausting memory.
	DefaultMaxBodyBytes = 16 << 20
	// DefaultMaxImagePixels bounds width*height of an input image.
	DefaultMaxImagePixels = imagecheck.DefaultMaxPixels
	// DefaultMaxImages bounds the files of one :classify-image request.
	DefaultMaxImages = imageupload.DefaultMaxImages
)

// Options configure a Server.
type Options struct {
	Registry       *registry.Registry
	Logger         *slog.Logger     // nil discards logs
	MaxBodyBytes   int64            // 0 means DefaultMaxBodyBytes
	MaxImagePixels int64            // 0 means DefaultMaxImagePixels
	Observer       reqinfo.Observer // nil records nothing
	Metrics        http.Handler     // served at GET /metrics when set
	ServerName     string           // GET /v2 "name"; default "imgclf-predictor"
	ServerVersion  string           // GET /v2 "version"
	MaxImages      int              // images in one :classify-image request; 0 means DefaultMaxImages
	UI             bool             // serve the web page at / and /ui/
	CORSOrigins    []string         // origins allowed to call the API from a browser; "*" for any
}

// DefaultServerName is the v2 server metadata's name (HTTP and gRPC).
const DefaultServerName = "imgclf-predictor"

// Server serves the HTTP API for the models in its Registry.
type Server struct {
	registry *registry.Registry
	draining atomic.Bool
	handler  http.Handler
}

// New returns a Server; use Handler to mount it.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	s := &Server{registry: opts.Registry}

	mux := http.NewServeMux()
	upload := imageupload.New(imageupload.Options{Registry: opts.Registry, MaxBodyBytes: opts.MaxBodyBytes,
		MaxImagePixels: opts.MaxImagePixels, MaxImages: opts.MaxImages})
	tfserving.New(tfserving.Options{Registry: opts.Registry, MaxBodyBytes: opts.MaxBodyBytes,
		MaxImagePixels: opts.MaxImagePixels, ClassifyImage: upload.Serve}).Mount(mux)
	kservev2.New(kservev2.Options{Registry: opts.Registry, MaxBodyBytes: opts.MaxBodyBytes,
		MaxImagePixels: opts.MaxImagePixels, ServerName: opts.ServerName, ServerVersion: opts.ServerVersion}).Mount(mux)
	mux.HandleFunc("/v2/health/live", s.handleLive)
	mux.HandleFunc("/v2/health/ready", s.handleReady)
	if opts.Metrics != nil {
		mux.Handle("/metrics", opts.Metrics)
	}
	if opts.UI {
		s.mountUI(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rest.WriteError(w, r, serving.Errorf(serving.NotFound, "no such path %q; see /v1/models/{name} or /v2/models/{name}", r.URL.Path))
	})
	// Outermost first: the id exists before the log line, and the log line
	// sees the 500 that Recover writes.
	s.handler = RequestID(AccessLog(opts.Logger, opts.Observer)(Recover(opts.Logger)(CORS(opts.CORSOrigins)(s.closeWhenDraining(mux)))))
	return s
}

func withDefaults(opts Options) Options {
	if opts.Registry == nil {
		opts.Registry = registry.New()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxImagePixels <= 0 {
		opts.MaxImagePixels = DefaultMaxImagePixels
	}
	if opts.MaxImages <= 0 {
		opts.MaxImages = DefaultMaxImages
	}
	if opts.ServerName == "" {
		opts.ServerName = DefaultServerName
	}
	return opts
}

// Handler returns the HTTP handler with all middleware applied.
func (s *Server) Handler() http.Handler { return s.handler }

// Drain makes readiness fail so load balancers stop sending new requests,
// while requests already routed here are still served; each response from
// then on closes its connection.
func (s *Server) Drain() { s.draining.Store(true) }
