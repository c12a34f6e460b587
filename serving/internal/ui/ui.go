// Package ui is the predictor's web page: a model browser, a try-it panel,
// model cards and live serving figures, written in plain HTML, CSS and
// JavaScript with no framework and nothing fetched from elsewhere, so it
// works in an air-gapped cluster. The page is a client of the predictor's
// public APIs only (/v2/repository/index, /v1/models/..., :classify-image,
// /metrics): what it shows is what any client would get.
//
// Routes, GET and HEAD only:
//
//	/, /ui/                 the page
//	/ui/models/{name}       the page, opened on one model (404 page if unknown)
//	/ui/assets/{file}       its script and style sheet
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy allows the page's own script, style and API calls
// and nothing else: no inline script, no other origin, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file, read once, with the ETag of its content.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the page. knownModel tells /ui/models/{name} whether to
// answer the page or the 404 page.
type Handler struct {
	knownModel func(name string) bool
	assets     map[string]asset // by file name under static/
}

// New returns the page's handler.
func New(knownModel func(name string) bool) *Handler {
	h := &Handler{knownModel: knownModel, assets: map[string]asset{}}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	for _, e := range entries {
		body, err := static.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		h.assets[e.Name()] = asset{body: body, contentType: types[path.Ext(e.Name())],
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+" is not allowed; the page is read with GET")
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" || p == "/ui" || p == "/ui/":
		h.serve(w, r, "index.html", http.StatusOK)
	case strings.HasPrefix(p, "/ui/models/"):
		name := strings.TrimPrefix(p, "/ui/models/")
		if name == "" || strings.Contains(name, "/") || !h.knownModel(name) {
			h.serve(w, r, "notfound.html", http.StatusNotFound)
			return
		}
		h.serve(w, r, "index.html", http.StatusOK)
	case strings.HasPrefix(p, "/ui/assets/"):
		name := strings.TrimPrefix(p, "/ui/assets/")
		if _, ok := h.assets[name]; !ok || strings.HasSuffix(name, ".html") {
			h.serve(w, r, "notfound.html", http.StatusNotFound)
			return
		}
		h.serve(w, r, name, http.StatusOK)
	default:
		h.serve(w, r, "notfound.html", http.StatusNotFound)
	}
}

// serve writes one asset. The page and its assets are revalidated on every
// load (no-cache with an ETag), so a new predictor version's page is never
// mixed with an old cached script.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string, status int) {
	a := h.assets[name]
	w.Header().Set("Content-Type", a.contentType)
	if status != http.StatusOK {
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write(a.body)
		}
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// setSecurityHeaders applies to every page response, errors included.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// writeJSONError answers like the API does: {"error": message}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
