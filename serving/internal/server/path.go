package server

import (
	"strconv"
	"strings"

	"github.com/imgclf/serving"
)

// The TF Serving REST API puts a verb after a colon inside the last segment
// (/v1/models/m/versions/2:predict), which ServeMux wildcards cannot match,
// so model paths are parsed here, in one place.

// latestVersion marks a request without /versions/{v}.
const latestVersion int64 = -1

// apiKind is what a model path asks for.
type apiKind int

const (
	kindStatus apiKind = iota
	kindMetadata
	kindPredict
	kindClassify
	kindClassifyImage
	kindReady // v2 only
	kindInfer // v2 only
	kindCard
)

// endpoint names each kind in metrics and logs.
func (k apiKind) endpoint() string {
	return [...]string{"status", "metadata", "predict", "classify", "classify_image", "ready", "infer", "card"}[k]
}

// modelRoute is a parsed /v1/models/... or /v2/models/... path.
type modelRoute struct {
	Model   string
	Version int64  // latestVersion when the path names none
	Label   string // a /labels/{label} segment, resolved by the registry
	Kind    apiKind
}

// parseModelPath parses
//
//	/v1/models/{name}[/versions/{v}|/labels/{l}]                      model status
//	/v1/models/{name}[/versions/{v}|/labels/{l}]/metadata             signature metadata
//	/v1/models/{name}[/versions/{v}|/labels/{l}]/card                 model card (metadata.json)
//	/v1/models/{name}[/versions/{v}|/labels/{l}]:predict|:classify|:classify-image
func parseModelPath(path string) (modelRoute, error) {
	rest, ok := strings.CutPrefix(path, "/v1/models/")
	if !ok {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; see /v1/models/{name}", path)
	}
	var verb string
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		rest, verb = rest[:i], rest[i+1:]
	}
	route := modelRoute{Version: latestVersion, Kind: kindStatus}
	segs := strings.Split(rest, "/")
	if last := segs[len(segs)-1]; verb == "" && len(segs) > 1 && (last == "metadata" || last == "card") {
		route.Kind = map[string]apiKind{"metadata": kindMetadata, "card": kindCard}[last]
		segs = segs[:len(segs)-1]
	}
	if err := route.parseVersion(segs, path, "/v1/models/{name}[/versions/{v}][/metadata|/card|:predict|:classify|:classify-image]"); err != nil {
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

// parseV2ModelPath parses
//
//	/v2/models/{name}[/versions/{v}]          model metadata
//	/v2/models/{name}[/versions/{v}]/ready    model readiness
//	/v2/models/{name}[/versions/{v}]/infer    inference
func parseV2ModelPath(path string) (modelRoute, error) {
	rest, ok := strings.CutPrefix(path, "/v2/models/")
	if !ok {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; see /v2/models/{name}", path)
	}
	route := modelRoute{Version: latestVersion, Kind: kindMetadata}
	segs := strings.Split(rest, "/")
	if len(segs) > 1 {
		switch segs[len(segs)-1] {
		case "ready":
			route.Kind, segs = kindReady, segs[:len(segs)-1]
		case "infer":
			route.Kind, segs = kindInfer, segs[:len(segs)-1]
		}
	}
	if err := route.parseVersion(segs, path, "/v2/models/{name}[/versions/{v}][/ready|/infer]"); err != nil {
		return modelRoute{}, err
	}
	if route.Label != "" {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; use %s", path, "/v2/models/{name}[/versions/{v}][/ready|/infer]")
	}
	return route, nil
}

// parseVersion reads {name}[/versions/{v}|/labels/{l}] from segs.
func (route *modelRoute) parseVersion(segs []string, path, usage string) error {
	switch {
	case len(segs) == 1:
	case len(segs) == 3 && segs[1] == "versions":
		v, err := strconv.ParseInt(segs[2], 10, 64)
		if err != nil || v < 0 {
			return serving.Errorf(serving.Invalid, "version %q in path %q is not a non-negative integer", segs[2], path)
		}
		route.Version = v
	case len(segs) == 3 && segs[1] == "labels" && segs[2] != "":
		route.Label = segs[2]
	default:
		return serving.Errorf(serving.NotFound, "no such path %q; use %s", path, usage)
	}
	if route.Model = segs[0]; route.Model == "" {
		return serving.Errorf(serving.NotFound, "no model name in path %q", path)
	}
	return nil
}
