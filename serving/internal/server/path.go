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

// apiKind is what a /v1/models path asks for.
type apiKind int

const (
	kindStatus apiKind = iota
	kindMetadata
	kindPredict
)

// modelRoute is a parsed /v1/models/... path.
type modelRoute struct {
	Model   string
	Version int64 // latestVersion when the path names none
	Kind    apiKind
}

// parseModelPath parses
//
//	/v1/models/{name}[/versions/{v}]            model status
//	/v1/models/{name}[/versions/{v}]/metadata   signature metadata
//	/v1/models/{name}[/versions/{v}]:predict    prediction
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
	if segs[len(segs)-1] == "metadata" && verb == "" && len(segs) > 1 {
		route.Kind = kindMetadata
		segs = segs[:len(segs)-1]
	}
	switch {
	case len(segs) == 1:
	case len(segs) == 3 && segs[1] == "versions":
		v, err := strconv.ParseInt(segs[2], 10, 64)
		if err != nil || v < 0 {
			return modelRoute{}, serving.Errorf(serving.Invalid, "version %q in path %q is not a non-negative integer", segs[2], path)
		}
		route.Version = v
	case len(segs) == 3 && segs[1] == "labels":
		return modelRoute{}, serving.Errorf(serving.NotFound, "version labels are not supported; use /versions/{number} or omit it for the latest")
	default:
		return modelRoute{}, serving.Errorf(serving.NotFound, "no such path %q; use /v1/models/{name}[/versions/{v}][/metadata|:predict]", path)
	}
	if route.Model = segs[0]; route.Model == "" {
		return modelRoute{}, serving.Errorf(serving.NotFound, "no model name in path %q", path)
	}
	switch verb {
	case "":
	case "predict":
		route.Kind = kindPredict
	case "classify", "regress":
		return modelRoute{}, serving.Errorf(serving.NotFound, "%q is not supported; use :predict", ":"+verb)
	default:
		return modelRoute{}, serving.Errorf(serving.NotFound, "unknown method %q in path %q; use :predict", ":"+verb, path)
	}
	return route, nil
}
