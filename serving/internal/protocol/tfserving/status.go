package tfserving

import (
	"net/http"
	"strconv"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// TF Serving's GetModelStatusResponse, as its REST API renders it.
type statusResponse struct {
	ModelVersionStatus []versionStatusJSON `json:"model_version_status"`
}

type versionStatusJSON struct {
	Version string         `json:"version"`
	State   registry.State `json:"state"`
	Status  statusJSON     `json:"status"`
}

type statusJSON struct {
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

// handleStatus serves GET /v1/models/{name}[/versions/{v}].
func (a *API) handleStatus(w http.ResponseWriter, r *http.Request, route modelRoute) {
	version := route.Version
	if route.Label != "" {
		v, err := a.registry.ResolveLabel(route.Model, route.Label)
		if err != nil {
			rest.WriteError(w, r, err)
			return
		}
		version = v
	}
	statuses, err := a.registry.Status(route.Model, version)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	reqinfo.MarkResolved(r.Context())
	resp := statusResponse{ModelVersionStatus: make([]versionStatusJSON, len(statuses))}
	for i, st := range statuses {
		js := statusJSON{ErrorCode: "OK"}
		if st.Err != nil {
			js = statusJSON{ErrorCode: "UNKNOWN", ErrorMessage: st.Err.Error()}
		}
		resp.ModelVersionStatus[i] = versionStatusJSON{Version: strconv.FormatInt(st.Version, 10), State: st.State, Status: js}
	}
	rest.WriteJSON(w, http.StatusOK, resp)
}
