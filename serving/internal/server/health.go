package server

import (
	"net/http"

	"github.com/imgclf/serving"
)

// handleLive answers Kubernetes' liveness probe: the process serves HTTP.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

// handleReady answers the readiness probe: 200 once a model version is
// AVAILABLE, 503 before that and while draining for shutdown.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	switch {
	case s.draining.Load():
		writeError(w, r, serving.Errorf(serving.Unavailable, "shutting down"))
	case !s.registry.Ready():
		writeError(w, r, serving.Errorf(serving.Unavailable, "no model version is AVAILABLE yet"))
	default:
		writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
	}
}

func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", http.MethodGet)
	writeError(w, r, serving.Errorf(serving.MethodNotAllowed, "%s %s is not allowed; use GET", r.Method, r.URL.Path))
	return false
}
