// Package tfserving is TF Serving's REST API (/v1/models/...): model
// status, signature metadata, the model card, :predict (row and columnar
// formats, with a fast path for the common image body) and :classify. The
// same path tree carries :classify-image, which this router hands to the
// handler in Options (package imageupload).
//
// The TF Serving REST API puts a verb after a colon inside the last segment
// (/v1/models/m/versions/2:predict), which ServeMux wildcards cannot match,
// so model paths are parsed here (path.go), in one place.
package tfserving

import (
	"net/http"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// Options configure the API; the caller applies defaults.
type Options struct {
	Registry       *registry.Registry
	MaxBodyBytes   int64 // the body reader's limit, named in 413 messages
	MaxImagePixels int64 // per image input element (imagecheck.Check)
	// ClassifyImage serves :classify-image paths once the method is checked
	// (imageupload.API.Serve); nil answers 404.
	ClassifyImage func(w http.ResponseWriter, r *http.Request, ref rest.Ref)
}

// API serves /v1/models/....
type API struct {
	registry      *registry.Registry
	limits        limits
	classifyImage func(w http.ResponseWriter, r *http.Request, ref rest.Ref)
}

// limits bound what one request may hold.
type limits struct {
	maxBodyBytes   int64 // for the 413 message; the body reader enforces it
	maxImagePixels int64 // per image input element (imagecheck.Check)
}

// New returns the API over opts.Registry.
func New(opts Options) *API {
	return &API{registry: opts.Registry, classifyImage: opts.ClassifyImage,
		limits: limits{maxBodyBytes: opts.MaxBodyBytes, maxImagePixels: opts.MaxImagePixels}}
}

// Mount routes /v1/models/... to the API.
func (a *API) Mount(mux *http.ServeMux) {
	mux.HandleFunc("/v1/models/", a.handleModels)
}

// handleModels dispatches every /v1/models/... request.
func (a *API) handleModels(w http.ResponseWriter, r *http.Request) {
	route, err := parseModelPath(r.URL.Path)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	reqinfo.Annotate(r.Context(), route.Model, route.Version, route.Kind.endpoint())
	want := http.MethodGet
	if route.Kind == kindPredict || route.Kind == kindClassify || route.Kind == kindClassifyImage {
		want = http.MethodPost
	}
	if !rest.AllowMethod(w, r, want) {
		return
	}
	switch route.Kind {
	case kindStatus:
		a.handleStatus(w, r, route)
	case kindMetadata:
		a.handleMetadata(w, r, route)
	case kindCard:
		a.handleCard(w, r, route)
	case kindPredict:
		a.handlePredict(w, r, route)
	case kindClassify:
		a.handleClassify(w, r, route)
	case kindClassifyImage:
		if a.classifyImage == nil {
			rest.WriteError(w, r, serving.Errorf(serving.NotFound, ":classify-image is not served here; use :predict or :classify"))
			return
		}
		a.classifyImage(w, r, route.ref())
	}
}
