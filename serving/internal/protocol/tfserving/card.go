package tfserving

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/rest"
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
func (a *API) handleCard(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := rest.Acquire(w, r, a.registry, route.ref())
	if !ok {
		return
	}
	defer lease.Release()
	if lease.Card == nil {
		rest.WriteError(w, r, serving.Errorf(serving.NotFound, "model %q version %d has no model card (metadata.json)", route.Model, lease.Version))
		return
	}
	rest.WriteJSON(w, http.StatusOK, cardResponse{Name: route.Model, Version: strconv.FormatInt(lease.Version, 10), Card: lease.Card})
}
