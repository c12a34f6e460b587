package kservev2

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// The model repository extension of KServe v2 / Triton: POST
// /v2/repository/index lists every model version the server knows, with its
// state, so a client (tritonclient's get_model_repository_index, the web
// page) can discover what is served. Loading and unloading through the
// extension are not offered: versions follow the model storage.

// repositoryEntry is one row of the index. State is Triton's vocabulary
// (READY, LOADING, UNLOADING, UNAVAILABLE); labels (an extension) are the
// version labels that point at the version.
type repositoryEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version,omitempty"`
	State   string   `json:"state"`
	Reason  string   `json:"reason,omitempty"`
	Labels  []string `json:"labels,omitempty"`
}

// repositoryIndexRequest is the optional body; ready=true keeps only READY
// versions.
type repositoryIndexRequest struct {
	Ready bool `json:"ready"`
}

// maxIndexRequestBytes bounds the index request body ({"ready": true}).
const maxIndexRequestBytes = 4 << 10

// handleRepositoryIndex serves POST (and, for browsers, GET)
// /v2/repository/index.
func (a *API) handleRepositoryIndex(w http.ResponseWriter, r *http.Request) {
	reqinfo.Annotate(r.Context(), "", registry.Latest, "repository_index")
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !rest.AllowMethod(w, r, http.MethodPost) {
		return
	}
	var req repositoryIndexRequest
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxIndexRequestBytes+1))
		switch {
		case err != nil:
			rest.WriteError(w, r, serving.Errorf(serving.Invalid, "reading the request body: %v", err))
			return
		case len(body) > maxIndexRequestBytes:
			rest.WriteError(w, r, serving.Errorf(serving.TooLarge, "repository index request is over %d bytes; send {} or {\"ready\": true}", maxIndexRequestBytes))
			return
		case len(body) > 0:
			if err := json.Unmarshal(body, &req); err != nil {
				rest.WriteError(w, r, serving.Errorf(serving.Invalid, "repository index request: %v; send {} or {\"ready\": true}", err))
				return
			}
		}
	}
	out := []repositoryEntry{}
	for _, e := range a.registry.Index() {
		row := repositoryEntry{Name: e.Name, State: tritonState(e.State), Labels: e.Labels}
		if e.Version >= 0 {
			row.Version = strconv.FormatInt(e.Version, 10)
		} else {
			row.State, row.Reason = "UNAVAILABLE", "no version found yet"
		}
		if e.Err != nil {
			row.Reason = e.Err.Error()
		}
		if req.Ready && row.State != "READY" {
			continue
		}
		out = append(out, row)
	}
	rest.WriteJSON(w, http.StatusOK, out)
}

// tritonState names a TF Serving state as the repository extension does.
func tritonState(s registry.State) string {
	switch s {
	case registry.StateAvailable:
		return "READY"
	case registry.StateLoading, registry.StateUnloading:
		return string(s)
	}
	return "UNAVAILABLE"
}
