// Package kservev2 is KServe's Open Inference Protocol (v2) over REST:
// server metadata (/v2), model metadata and readiness, inference
// (/v2/models/{name}[/versions/{v}]/infer) and the model repository index,
// with Triton's binary tensor data and classification extensions, so
// tritonclient.http and the kserve Python client work unchanged. Errors are
// {"error": "..."}. The health probes (/v2/health/...) belong to the server
// assembly, which knows when it is draining.
package kservev2

import (
	"net/http"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// headerLengthHeader splits a body into its JSON header and binary tensors.
const headerLengthHeader = "Inference-Header-Content-Length"

// v2ServerMetadata is GET /v2.
type v2ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// Options configure the API; the caller applies defaults.
type Options struct {
	Registry       *registry.Registry
	MaxBodyBytes   int64  // the body reader's limit, also bounding a shape's element count
	MaxImagePixels int64  // per image input element (imagecheck.Check)
	ServerName     string // GET /v2 "name"
	ServerVersion  string // GET /v2 "version"
}

// API serves /v2 and /v2/models/... (and the repository index).
type API struct {
	registry *registry.Registry
	limits   limits
	name     string
	version  string
}

// limits bound what one request may hold.
type limits struct {
	maxBodyBytes   int64 // for the 413 message; the body reader enforces it
	maxImagePixels int64 // per image input element (imagecheck.Check)
}

// New returns the API over opts.Registry.
func New(opts Options) *API {
	return &API{registry: opts.Registry, name: opts.ServerName, version: opts.ServerVersion,
		limits: limits{maxBodyBytes: opts.MaxBodyBytes, maxImagePixels: opts.MaxImagePixels}}
}

// Mount routes the protocol's paths to the API.
func (a *API) Mount(mux *http.ServeMux) {
	mux.HandleFunc("/v2/models/", a.handleV2Models)
	mux.HandleFunc("/v2", a.handleV2Server)
	mux.HandleFunc("/v2/repository/index", a.handleRepositoryIndex)
}

// handleV2Server serves GET /v2, named "/v2" in the request metrics.
func (a *API) handleV2Server(w http.ResponseWriter, r *http.Request) {
	reqinfo.Annotate(r.Context(), "", registry.Latest, "/v2")
	if !rest.AllowMethod(w, r, http.MethodGet) {
		return
	}
	rest.WriteJSON(w, http.StatusOK, v2ServerMetadata{Name: a.name, Version: a.version,
		Extensions: []string{"binary_tensor_data", "classification"}})
}

// handleV2Models dispatches /v2/models/... requests.
func (a *API) handleV2Models(w http.ResponseWriter, r *http.Request) {
	route, err := parseV2ModelPath(r.URL.Path)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	reqinfo.Annotate(r.Context(), route.Model, route.Version, route.Kind.endpoint())
	want := http.MethodGet
	if route.Kind == kindInfer {
		want = http.MethodPost
	}
	if !rest.AllowMethod(w, r, want) {
		return
	}
	lease, ok := rest.Acquire(w, r, a.registry, route.ref())
	if !ok {
		return
	}
	defer lease.Release()
	switch route.Kind {
	case kindReady:
		rest.WriteJSON(w, http.StatusOK, map[string]any{"name": route.Model, "ready": true})
	case kindMetadata:
		a.handleV2Metadata(w, r, route.Model, lease)
	case kindInfer:
		a.handleV2Infer(w, r, route.Model, lease)
	}
}
