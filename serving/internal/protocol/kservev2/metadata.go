package kservev2

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/rest"
)

// v2TensorMetadata describes one input or output in model metadata.
type v2TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// v2ModelMetadata is GET /v2/models/{name}[/versions/{v}].
type v2ModelMetadata struct {
	Name     string             `json:"name"`
	Versions []string           `json:"versions"`
	Platform string             `json:"platform"`
	Inputs   []v2TensorMetadata `json:"inputs"`
	Outputs  []v2TensorMetadata `json:"outputs"`
}

// handleV2Metadata serves GET /v2/models/{name}[/versions/{v}].
func (a *API) handleV2Metadata(w http.ResponseWriter, r *http.Request, name string, lease *registry.Lease) {
	rest.WriteJSON(w, http.StatusOK, a.modelMetadata(name, lease))
}

// modelMetadata is a model's v2 metadata, over REST and gRPC alike.
func (a *API) modelMetadata(name string, lease *registry.Lease) v2ModelMetadata {
	sig := lease.Model.Signature()
	var versions []string
	for _, v := range a.registry.Available(name) {
		versions = append(versions, strconv.FormatInt(v, 10))
	}
	return v2ModelMetadata{Name: name, Versions: versions, Platform: "tensorflow_savedmodel",
		Inputs: v2Tensors(sig.Inputs), Outputs: v2Tensors(sig.Outputs)}
}

func v2Tensors(infos map[string]serving.TensorInfo) []v2TensorMetadata {
	out := make([]v2TensorMetadata, 0, len(infos))
	for k, info := range infos {
		shape := info.Shape
		if shape == nil || info.UnknownRank {
			shape = []int64{}
		}
		out = append(out, v2TensorMetadata{Name: k, Datatype: v2Datatype(info.DType), Shape: shape})
	}
	slices.SortFunc(out, func(a, b v2TensorMetadata) int { return strings.Compare(a.Name, b.Name) })
	return out
}
