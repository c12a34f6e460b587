package server

import (
	"net/http"
	"strings"

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
		if names := s.registry.NotReady(); len(names) > 0 {
			writeError(w, r, serving.Errorf(serving.Unavailable, "no AVAILABLE version yet of model %s", strings.Join(names, ", ")))
		} else {
			writeError(w, r, serving.Errorf(serving.Unavailable, "no model version is AVAILABLE yet"))
		}
	default:
		writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
	}
}

func allowGet(w http.ResponseWriter, r *http.Request) bool { return allowMethod(w, r, http.MethodGet) }
