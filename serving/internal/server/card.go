package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
)

// cardResponse is GET /v1/models/{name}[/versions/{v}|/labels/{l}]/card:
// the version that answered and its metadata.json as the exporter wrote it
// (evaluation with the per-class table and confusion matrix, training
// parameters, data fingerprint and counts, code and TensorFlow versions,
// creation time).
type cardResponse struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Card    json.RawMessage `json:"card"`
}

// handleCard serves a version's model card.
func (s *Server) handleCard(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := s.acquire(w, r, route)
	if !ok {
		return
	}
	defer lease.Release()
	if lease.Card == nil {
		writeError(w, r, serving.Errorf(serving.NotFound, "model %q version %d has no model card (metadata.json)", route.Model, lease.Version))
		return
	}
	writeJSON(w, http.StatusOK, cardResponse{Name: route.Model, Version: strconv.FormatInt(lease.Version, 10), Card: lease.Card})
}
