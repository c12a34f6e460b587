package kservev2

import (
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/rest"
)

// apiKind is what a model path asks for.
type apiKind int

const (
	kindMetadata apiKind = iota
	kindReady
	kindInfer
)

// endpoint names each kind in metrics and logs.
func (k apiKind) endpoint() string {
	return [...]string{"v2_metadata", "v2_ready", "v2_infer"}[k]
}

// modelRoute is a parsed /v2/models/... path.
type modelRoute struct {
	Model   string
	Version int64  // registry.Latest when the path names none
	Label   string // never set: v2 paths have no version labels
	Kind    apiKind
}

// ref is the model version the route names.
func (route modelRoute) ref() rest.Ref {
	return rest.Ref{Model: route.Model, Version: route.Version, Label: route.Label}
}

// parseV2ModelPath parses
//
//	/v2/models/{name}[/versions/{v}]          model metadata
//	/v2/models/{name}[/versions/{v}]/ready    model readiness
//	/v2/models/{name}[/versions/{v}]/infer    inference
func parseV2ModelPath(path string) (modelRoute, error) {
	tail, ok := strings.CutPrefix(path, "/v2/models/")
	if !ok {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; see /v2/models/{name}", path)
	}
	route := modelRoute{Version: registry.Latest, Kind: kindMetadata}
	segs := strings.Split(tail, "/")
	if len(segs) > 1 {
		switch segs[len(segs)-1] {
		case "ready":
			route.Kind, segs = kindReady, segs[:len(segs)-1]
		case "infer":
			route.Kind, segs = kindInfer, segs[:len(segs)-1]
		}
	}
	ref, err := rest.ParseRef(segs, path, "/v2/models/{name}[/versions/{v}][/ready|/infer]")
	if err != nil {
		return modelRoute{}, err
	}
	route.Model, route.Version, route.Label = ref.Model, ref.Version, ref.Label
	if route.Label != "" {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; use %s", path, "/v2/models/{name}[/versions/{v}][/ready|/infer]")
	}
	return route, nil
}
