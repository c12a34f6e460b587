// Package reqinfo carries what is known about one request through its
// context: its id, and the model, version and endpoint that served it,
// with the error it ended in. Front ends fill it in (annotate, resolve);
// the access log, the request metrics and the prediction log read it. It
// knows no protocol: endpoints are names the front ends choose.
package reqinfo

import (
	"context"
	"strconv"
	"time"

	"github.com/imgclf/serving/internal/registry"
)

// Info is filled in by handlers (model, version, error) and read by the
// access log once the response is written.
type Info struct {
	Model    string
	Version  int64  // registry.Latest until the registry resolves it
	Endpoint string // e.g. "predict"; "" outside the model APIs
	Resolved bool   // the model (and version) exist: safe as metric labels
	Err      error
}

// Observer sees every finished request (Prometheus metrics).
type Observer interface {
	ObserveRequest(model, version, endpoint string, status int, elapsed time.Duration)
}

type infoKey struct{}

// New returns ctx carrying a fresh Info, and that Info.
func New(ctx context.Context) (context.Context, *Info) {
	info := &Info{Version: registry.Latest}
	return context.WithValue(ctx, infoKey{}, info), info
}

// From returns the Info in ctx, or nil.
func From(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// Annotate records which model version and endpoint serve the request.
func Annotate(ctx context.Context, model string, version int64, endpoint string) {
	if info := From(ctx); info != nil {
		info.Model, info.Version, info.Endpoint = model, version, endpoint
	}
}

// Resolve records the model version the registry resolved the request to
// and marks it real, so metrics may use it as labels (a client cannot mint
// label values with made-up names). The endpoint stays as annotated.
func Resolve(ctx context.Context, model string, version int64) {
	if info := From(ctx); info != nil {
		info.Model, info.Version, info.Resolved = model, version, true
	}
}

// MarkResolved marks the annotated model and version as real without
// changing them (a status request names a model, not one version).
func MarkResolved(ctx context.Context) {
	if info := From(ctx); info != nil {
		info.Resolved = true
	}
}

// SetError records the error the request ended in, for the access log.
func SetError(ctx context.Context, err error) {
	if info := From(ctx); info != nil {
		info.Err = err
	}
}

// Endpoint returns the endpoint the access log names for the request in
// ctx ("predict", "classify", "classify_image", "v2_infer", ...), or ""
// outside a model API. Model decorators (the prediction log) read it.
func Endpoint(ctx context.Context) string {
	if info := From(ctx); info != nil {
		return info.Endpoint
	}
	return ""
}

// VersionString is the version for logs: "latest" until one is resolved.
func (info *Info) VersionString() string {
	if info.Version == registry.Latest {
		return "latest"
	}
	return strconv.FormatInt(info.Version, 10)
}

// ObservedVersion is the version label of a request metric: the version
// that served it, "" when none did (unknown model, malformed path).
func (info *Info) ObservedVersion() string {
	if info.Version == registry.Latest {
		return ""
	}
	return strconv.FormatInt(info.Version, 10)
}
