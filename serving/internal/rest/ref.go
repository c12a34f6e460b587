package rest

import (
	"context"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
)

// Ref is the model version a model path names:
// {name}[/versions/{v}|/labels/{l}].
type Ref struct {
	Model   string
	Version int64  // registry.Latest when the path names none
	Label   string // a /labels/{label} segment, resolved by the registry
}

// ParseRef reads {name}[/versions/{v}|/labels/{l}] from a model path's
// segments (what follows /models/, without a trailing action); path and
// usage go into the error messages.
func ParseRef(segs []string, path, usage string) (Ref, error) {
	ref := Ref{Version: registry.Latest}
	switch {
	case len(segs) == 1:
	case len(segs) == 3 && segs[1] == "versions":
		v, err := strconv.ParseInt(segs[2], 10, 64)
		if err != nil || v < 0 {
			return Ref{}, serving.Errorf(serving.Invalid, "version %q in path %q is not a non-negative integer", segs[2], path)
		}
		ref.Version = v
	case len(segs) == 3 && segs[1] == "labels" && segs[2] != "":
		ref.Label = segs[2]
	default:
		return Ref{}, serving.Errorf(serving.NotFound, "no such path %q; use %s", path, usage)
	}
	if ref.Model = segs[0]; ref.Model == "" {
		return Ref{}, serving.Errorf(serving.NotFound, "no model name in path %q", path)
	}
	return ref, nil
}

// Acquire resolves ref's version (or label) to a lease, writing the error
// reply when there is none (LeaseRef). The caller must Release the lease.
func Acquire(w http.ResponseWriter, r *http.Request, reg *registry.Registry, ref Ref) (*registry.Lease, bool) {
	lease, err := LeaseRef(r.Context(), reg, ref)
	if err != nil {
		WriteError(w, r, err)
		return nil, false
	}
	return lease, true
}

// LeaseRef resolves ref's version (or label) to a lease and records the
// version for the access log and metrics (the endpoint stays as the front
// end annotated it): what every front end, REST or gRPC, does before it
// serves a model. The caller must Release the lease.
func LeaseRef(ctx context.Context, reg *registry.Registry, ref Ref) (*registry.Lease, error) {
	version := ref.Version
	if ref.Label != "" {
		v, err := reg.ResolveLabel(ref.Model, ref.Label)
		if err != nil {
			return nil, err
		}
		version = v
	}
	lease, err := reg.Acquire(ref.Model, version)
	if err != nil {
		return nil, err
	}
	reqinfo.Resolve(ctx, ref.Model, lease.Version)
	return lease, nil
}
