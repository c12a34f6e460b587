package tfserving

import (
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/rest"
)

// TF Serving's GetModelMetadataResponse as its REST API renders it, so
// existing clients and tools can read it unchanged.
type metadataResponse struct {
	ModelSpec modelSpec    `json:"model_spec"`
	Metadata  metadataJSON `json:"metadata"`
}

type modelSpec struct {
	Name          string `json:"name"`
	SignatureName string `json:"signature_name"`
	Version       string `json:"version"`
}

type metadataJSON struct {
	SignatureDef signatureDefMap `json:"signature_def"`
}

type signatureDefMap struct {
	SignatureDef map[string]signatureDefJSON `json:"signature_def"`
}

type signatureDefJSON struct {
	Inputs     map[string]tensorInfoJSON `json:"inputs"`
	Outputs    map[string]tensorInfoJSON `json:"outputs"`
	MethodName string                    `json:"method_name"`
}

type tensorInfoJSON struct {
	DType       string          `json:"dtype"`
	TensorShape tensorShapeJSON `json:"tensor_shape"`
	Name        string          `json:"name"`
}

type tensorShapeJSON struct {
	Dim         []dimJSON `json:"dim"`
	UnknownRank bool      `json:"unknown_rank"`
}

// dimJSON's size is a string because proto3 JSON renders int64 that way.
type dimJSON struct {
	Size string `json:"size"`
	Name string `json:"name"`
}

// handleMetadata serves GET /v1/models/{name}[/versions/{v}]/metadata.
func (a *API) handleMetadata(w http.ResponseWriter, r *http.Request, route modelRoute) {
	lease, ok := rest.Acquire(w, r, a.registry, route.ref())
	if !ok {
		return
	}
	defer lease.Release()
	version := lease.Version
	sig := lease.Model.Signature()
	rest.WriteJSON(w, http.StatusOK, metadataResponse{
		ModelSpec: modelSpec{Name: route.Model, Version: strconv.FormatInt(version, 10)},
		Metadata: metadataJSON{SignatureDef: signatureDefMap{SignatureDef: map[string]signatureDefJSON{
			sig.Name: {Inputs: tensorInfos(sig.Inputs), Outputs: tensorInfos(sig.Outputs), MethodName: sig.MethodName},
		}}},
	})
}

func tensorInfos(in map[string]serving.TensorInfo) map[string]tensorInfoJSON {
	out := make(map[string]tensorInfoJSON, len(in))
	for k, info := range in {
		dims := make([]dimJSON, len(info.Shape))
		for i, d := range info.Shape {
			dims[i] = dimJSON{Size: strconv.FormatInt(d, 10)}
		}
		out[k] = tensorInfoJSON{
			DType:       info.DType.String(),
			TensorShape: tensorShapeJSON{Dim: dims, UnknownRank: info.UnknownRank},
			Name:        info.Name,
		}
	}
	return out
}
