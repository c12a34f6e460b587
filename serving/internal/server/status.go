package server

import (
	"net/http"
	"strconv"
)

// TF Serving's GetModelStatusResponse, as its REST API renders it.
type statusResponse struct {
	ModelVersionStatus []versionStatusJSON `json:"model_version_status"`
}

type versionStatusJSON struct {
	Version string     `json:"version"`
	State   State      `json:"state"`
	Status  statusJSON `json:"status"`
}

type statusJSON struct {
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

// handleStatus serves GET /v1/models/{name}[/versions/{v}].
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, route modelRoute) {
	version := route.Version
	if route.Label != "" {
		v, err := s.registry.ResolveLabel(route.Model, route.Label)
		if err != nil {
			writeError(w, r, err)
			return
		}
		version = v
	}
	statuses, err := s.registry.Status(route.Model, version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resolved(r)
	resp := statusResponse{ModelVersionStatus: make([]versionStatusJSON, len(statuses))}
	for i, st := range statuses {
		js := statusJSON{ErrorCode: "OK"}
		if st.Err != nil {
			js = statusJSON{ErrorCode: "UNKNOWN", ErrorMessage: st.Err.Error()}
		}
		resp.ModelVersionStatus[i] = versionStatusJSON{Version: strconv.FormatInt(st.Version, 10), State: st.State, Status: js}
	}
	writeJSON(w, http.StatusOK, resp)
}
