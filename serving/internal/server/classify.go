package server

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/scores"
)

// Classification on top of a predict signature: the scores output
// (probabilities) is paired with assets/labels.txt, line i naming class i.

// classScore is one class of one image, as :classify-image answers it.
type classScore struct {
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// topK returns the k best classes, best first (all when k <= 0), each
// named by its label, else by its index.
func topK(row []float32, k int, labels []string) []classScore {
	ranked := scores.TopK(row, k, labels)
	out := make([]classScore, len(ranked))
	for i, c := range ranked {
		out[i] = classScore{Label: c.Name(), Score: c.Score}
	}
	return out
}

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
func (s *Server) handleClassify(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := s.acquire(w, r, route)
	if !ok {
		return
	}
	defer lease.Release()
	sig := lease.Model.Signature()
	scoresKey, err := scores.Output(sig)
	if err != nil {
		writeError(w, r, err)
		return
	}
	sigName, inputs, err := readClassifyRequest(http.MaxBytesReader(w, r.Body, s.limits.maxBodyBytes), sig, s.limits)
	if err == nil {
		err = checkSignatureName(sigName, sig)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	rows, err := s.classify(r, lease, inputs, scoresKey)
	if err != nil {
		writeError(w, r, err)
		return
	}
	results := make([][][2]any, len(rows))
	for i, row := range rows {
		for _, c := range topK(row, 0, lease.Labels) {
			results[i] = append(results[i], [2]any{c.Label, c.Score})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// classify predicts and returns the score rows.
func (s *Server) classify(r *http.Request, lease *Lease, inputs map[string]*serving.Tensor, scoresKey string) ([][]float32, error) {
	outputs, err := lease.Model.Predict(r.Context(), inputs)
	if err != nil {
		return nil, err
	}
	t := outputs[scoresKey]
	if t == nil {
		return nil, serving.Errorf(serving.Internal, "the model returned no output %q", scoresKey)
	}
	if err := t.Validate(); err != nil {
		return nil, serving.Errorf(serving.Internal, "model output %q: %v", scoresKey, err)
	}
	return scores.Rows(t)
}
