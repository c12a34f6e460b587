package tfserving

import (
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/rest"
)

// apiKind is what a model path asks for.
type apiKind int

const (
	kindStatus apiKind = iota
	kindMetadata
	kindPredict
	kindClassify
	kindClassifyImage
	kindCard
)

// endpoint names each kind in metrics and logs.
func (k apiKind) endpoint() string {
	return [...]string{"status", "metadata", "predict", "classify", "classify_image", "card"}[k]
}

// modelRoute is a parsed /v1/models/... path.
type modelRoute struct {
	Model   string
	Version int64  // registry.Latest when the path names none
	Label   string // a /labels/{label} segment, resolved by the registry
	Kind    apiKind
}

// ref is the model version the route names.
func (route modelRoute) ref() rest.Ref {
	return rest.Ref{Model: route.Model, Version: route.Version, Label: route.Label}
}

// parseModelPath parses
//
//	/v1/models/{name}[/versions/{v}|/labels/{l}]                      model status
//	/v1/models/{name}[/versions/{v}|/labels/{l}]/metadata             signature metadata
//	/v1/models/{name}[/versions/{v}|/labels/{l}]/card                 model card (metadata.json)
//	/v1/models/{name}[/versions/{v}|/labels/{l}]:predict|:classify|:classify-image
func parseModelPath(path string) (modelRoute, error) {
	tail, ok := strings.CutPrefix(path, "/v1/models/")
	if !ok {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; see /v1/models/{name}", path)
	}
	var verb string
	if i := strings.LastIndexByte(tail, ':'); i >= 0 {
		tail, verb = tail[:i], tail[i+1:]
	}
	route := modelRoute{Version: registry.Latest, Kind: kindStatus}
	segs := strings.Split(tail, "/")
	if last := segs[len(segs)-1]; verb == "" && len(segs) > 1 && (last == "metadata" || last == "card") {
		route.Kind = map[string]apiKind{"metadata": kindMetadata, "card": kindCard}[last]
		segs = segs[:len(segs)-1]
	}
	if err := route.parseRef(segs, path, "/v1/models/{name}[/versions/{v}][/metadata|/card|:predict|:classify|:classify-image]"); err != nil {
		return modelRoute{}, err
	}
	switch verb {
	case "":
	case "predict":
		route.Kind = kindPredict
	case "classify":
		route.Kind = kindClassify
	case "classify-image":
		route.Kind = kindClassifyImage
	case "regress":
		return modelRoute{}, serving.Errorf(serving.NotFound, ":regress is not supported; use :predict or :classify")
	default:
		return modelRoute{}, serving.Errorf(serving.NotFound, "unknown method %q in path %q; use :predict, :classify or :classify-image", ":"+verb, path)
	}
	return route, nil
}

// parseRef reads {name}[/versions/{v}|/labels/{l}] from segs.
func (route *modelRoute) parseRef(segs []string, path, usage string) error {
	ref, err := rest.ParseRef(segs, path, usage)
	if err != nil {
		return err
	}
	route.Model, route.Version, route.Label = ref.Model, ref.Version, ref.Label
	return nil
}
