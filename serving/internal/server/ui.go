package server

import (
	"net/http"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/ui"
)

// mountUI serves the web page (package ui) at /, /ui and /ui/..., counted
// in metrics and the access log as endpoint "ui". The page calls the same
// API routes as any client, so its uploads meet the same body, pixel and
// image-count limits and count like any request.
func (s *Server) mountUI(mux *http.ServeMux) {
	page := ui.New(func(name string) bool {
		_, err := s.registry.Status(name, registry.Latest)
		return err == nil
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.Annotate(r.Context(), "", registry.Latest, "ui")
		page.ServeHTTP(w, r)
	})
	mux.Handle("/{$}", h)
	mux.Handle("/ui", h)
	mux.Handle("/ui/", h)
}
