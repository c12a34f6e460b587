package tfserving

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/rest"
	"github.com/imgclf/serving/internal/scores"
)

// Classification on top of a predict signature: the scores output
// (probabilities) is paired with assets/labels.txt, line i naming class i.

// classifyRequest is TF Serving's REST classify body. Each example maps the
// signature's input names to values as in :predict's row format; context
// holds features shared by every example.
type classifyRequest struct {
	SignatureName string           `json:"signature_name"`
	Context       map[string]any   `json:"context"`
	Examples      []map[string]any `json:"examples"`
}

// readClassifyRequest decodes a classify body into signature inputs.
func readClassifyRequest(body io.Reader, sig serving.Signature, lim limits) (string, map[string]*serving.Tensor, error) {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var req classifyRequest
	if err := dec.Decode(&req); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return "", nil, serving.Errorf(serving.Invalid, `unknown field %s in the request body; expected "examples" (and optionally "context", "signature_name")`, field)
		}
		return "", nil, bodyError(err, lim.maxBodyBytes)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", nil, serving.Errorf(serving.Invalid, "invalid JSON body: unexpected data after the top-level object")
	}
	if len(req.Examples) == 0 {
		return "", nil, serving.Errorf(serving.Invalid, `"examples" is empty; send at least one, e.g. {"examples": [{"image_bytes": {"b64": "..."}}]}`)
	}
	instances := make([]any, len(req.Examples))
	for i, ex := range req.Examples {
		if ex == nil {
			return "", nil, serving.Errorf(serving.Invalid, "examples[%d] is null; each example is an object of features", i)
		}
		merged := make(map[string]any, len(ex)+len(req.Context))
		for k, v := range req.Context {
			merged[k] = v
		}
		for _, k := range slices.Sorted(maps.Keys(ex)) {
			if _, dup := req.Context[k]; dup {
				return "", nil, serving.Errorf(serving.Invalid, "examples[%d]: feature %q is also in context", i, k)
			}
			merged[k] = ex[k]
		}
		instances[i] = merged
	}
	inputs, err := rowInputs(instances, inputCodecs(sig, lim.maxImagePixels))
	if err != nil {
		return "", nil, err
	}
	return req.SignatureName, inputs, nil
}

// handleClassify serves POST /v1/models/{name}[/versions/{v}]:classify,
// answering {"results": [[[label, score], ...], ...]}: every class of every
// example, best first.
func (a *API) handleClassify(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := rest.Acquire(w, r, a.registry, route.ref())
	if !ok {
		return
	}
	defer lease.Release()
	sig := lease.Model.Signature()
	scoresKey, err := scores.Output(sig)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	sigName, inputs, err := readClassifyRequest(http.MaxBytesReader(w, r.Body, a.limits.maxBodyBytes), sig, a.limits)
	if err == nil {
		err = checkSignatureName(sigName, sig)
	}
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	rows, err := scores.Predict(r.Context(), lease.Model, inputs, scoresKey)
	if err != nil {
		rest.WriteError(w, r, err)
		return
	}
	results := make([][][2]any, len(rows))
	for i, row := range rows {
		for _, c := range scores.TopK(row, 0, lease.Labels) {
			results[i] = append(results[i], [2]any{c.Name(), c.Score})
		}
	}
	rest.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
}
