package server

import (
	"net/http"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/rest"
)

// handleLive answers Kubernetes' liveness probe: the process serves HTTP.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	if !rest.AllowMethod(w, r, http.MethodGet) {
		return
	}
	rest.WriteJSON(w, http.StatusOK, map[string]bool{"live": true})
}

// handleReady answers the readiness probe: 200 once a model version is
// AVAILABLE, 503 before that and while draining for shutdown.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if !rest.AllowMethod(w, r, http.MethodGet) {
		return
	}
	switch {
	case s.draining.Load():
		rest.WriteError(w, r, serving.Errorf(serving.Unavailable, "shutting down"))
	case !s.registry.Ready():
		if names := s.registry.NotReady(); len(names) > 0 {
			rest.WriteError(w, r, serving.Errorf(serving.Unavailable, "no AVAILABLE version yet of model %s", strings.Join(names, ", ")))
		} else {
			rest.WriteError(w, r, serving.Errorf(serving.Unavailable, "no model version is AVAILABLE yet"))
		}
	default:
		rest.WriteJSON(w, http.StatusOK, map[string]bool{"ready": true})
	}
}
