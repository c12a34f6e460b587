// Package imageupload classifies images sent as files: POST
// /v1/models/{name}[/versions/{v}]:classify-image with a raw image body or
// a multipart/form-data upload of one or more files, answering the top k
// classes of each. The path lives in TF Serving's tree, so package
// tfserving's router parses it, checks the method and calls Serve.
package imageupload

import (
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/inputcodec"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/rest"
	"github.com/imgclf/serving/internal/scores"
)

// DefaultTopK is how many classes :classify-image returns without ?k=.
const DefaultTopK = 5

// DefaultMaxImages bounds the files of one :classify-image request: a
// page's worth of photos, and with the body limit a bound on one batch.
const DefaultMaxImages = 64

// Options configure the API; the caller applies defaults.
type Options struct {
	Registry       *registry.Registry
	MaxBodyBytes   int64 // the body reader's limit, named in 413 messages
	MaxImagePixels int64 // per image (imagecheck.Check)
	MaxImages      int   // files in one request
}

// API serves :classify-image.
type API struct {
	registry *registry.Registry
	limits   limits
}

// limits bound what one request may hold.
type limits struct {
	maxBodyBytes   int64 // for the 413 message; the body reader enforces it
	maxImagePixels int64 // per image (imagecheck.Check)
	maxImages      int   // files in one request
}

// New returns the API over opts.Registry.
func New(opts Options) *API {
	return &API{registry: opts.Registry,
		limits: limits{maxBodyBytes: opts.MaxBodyBytes, maxImagePixels: opts.MaxImagePixels, maxImages: opts.MaxImages}}
}

// classifyImageResponse is :classify-image's reply: one result per image,
// in upload order.
type classifyImageResponse struct {
	Model   string                `json:"model"`
	Version string                `json:"version"`
	Results []classifyImageResult `json:"results"`
}

// classScore is one class of one image.
type classScore struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// topK returns the k best classes, best first (all when k <= 0), each
// named by its label, else by its index.
func topK(row []float32, k int, labels []string) []classScore {
	ranked := scores.TopK(row, k, labels)
	out := make([]classScore, len(ranked))
	for i, c := range ranked {
		out[i] = classScore{Label: c.Name(), Score: c.Score}
	}
	return out
}

type classifyImageResult struct {
	Filename    string       `json:"filename,omitempty"`
	Predictions []classScore `json:"predictions"`
}

// Serve serves POST /v1/models/{name}[/versions/{v}]:classify-image
// with a raw image body (Content-Type image/jpeg, image/png, image/gif,
// image/bmp or application/octet-stream) or a multipart/form-data upload of
// one or more files, answering the top k classes (?k=, default 5) of each.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, ref rest.Ref) {
	k := DefaultTopK
	if q := r.URL.Query().Get("k"); q != "" {
		var err error
		if k, err = strconv.Atoi(q); err != nil || k < 1 {
			rest.WriteError(w, r, serving.Errorf(serving.Invalid, "query parameter k=%q: want a positive integer (the number of classes to return)", q))
			return
		}
	}
	lease, ok := rest.Acquire(w, r, a.registry, ref)
	if !ok {
		return
	}
	defer lease.Release()
	sig := lease.Model.Signature()
	inputKey, err := imageInput(sig)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	scoresKey, err := scores.Output(sig)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	images, err := readUploads(r, http.MaxBytesReader(w, r.Body, a.limits.maxBodyBytes), a.limits)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	t := &serving.Tensor{DType: serving.DTString, Shape: []int64{int64(len(images))}}
	for _, img := range images {
		t.Strings = append(t.Strings, img.data)
	}
	rows, err := scores.Predict(r.Context(), lease.Model, map[string]*serving.Tensor{inputKey: t}, scoresKey)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	if len(rows) != len(images) {
		rest.WriteError(w, r, serving.Errorf(serving.Internal, "the model returned %d score rows for %d images", len(rows), len(images)))
		return
	}
	resp := classifyImageResponse{Model: ref.Model, Version: strconv.FormatInt(lease.Version, 10)}
	for i, row := range rows {
		resp.Results = append(resp.Results, classifyImageResult{Filename: images[i].filename, Predictions: topK(row, k, lease.Labels)})
	}
	rest.WriteJSON(w, http.StatusOK, resp)
}

// imageInput returns the signature's one input, which must take strings.
func imageInput(sig serving.Signature) (string, error) {
	if len(sig.Inputs) == 1 {
		for k, info := range sig.Inputs {
			if info.DType == serving.DTString {
				return k, nil
			}
		}
	}
	return "", serving.Errorf(serving.Invalid, "signature %q takes %s, not one encoded-image string input; use :predict", sig.Name, inputcodec.Names(sig.Inputs))
}
