package kservev2

import (
	"context"
	"strconv"

	"google.golang.org/grpc"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/apierror"
	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/rest"
)

// GRPC is KServe v2's inference.GRPCInferenceService over the same
// registry as the REST API: liveness, readiness, server and model
// metadata, and inference (grpcinfer.go).
type GRPC struct {
	inference.UnimplementedGRPCInferenceServiceServer
	api *API
}

// GRPC returns the API's gRPC front end.
func (a *API) GRPC() *GRPC { return &GRPC{api: a} }

// Register adds the service to s.
func (g *GRPC) Register(s grpc.ServiceRegistrar) { inference.RegisterGRPCInferenceServiceServer(s, g) }

// fail records err for the access log and returns it as a gRPC status.
func fail(ctx context.Context, err error) error {
	reqinfo.SetError(ctx, err)
	return apierror.GRPCError(err)
}

// ServerLive answers true while the process serves.
func (g *GRPC) ServerLive(ctx context.Context, _ *inference.ServerLiveRequest) (*inference.ServerLiveResponse, error) {
	reqinfo.Annotate(ctx, "", registry.Latest, "grpc_server_live")
	return &inference.ServerLiveResponse{Live: true}, nil
}

// ServerReady answers whether every model has an AVAILABLE version.
func (g *GRPC) ServerReady(ctx context.Context, _ *inference.ServerReadyRequest) (*inference.ServerReadyResponse, error) {
	reqinfo.Annotate(ctx, "", registry.Latest, "grpc_server_ready")
	return &inference.ServerReadyResponse{Ready: g.api.registry.Ready()}, nil
}

// ServerMetadata is GET /v2's answer.
func (g *GRPC) ServerMetadata(ctx context.Context, _ *inference.ServerMetadataRequest) (*inference.ServerMetadataResponse, error) {
	reqinfo.Annotate(ctx, "", registry.Latest, "grpc_server_metadata")
	return &inference.ServerMetadataResponse{Name: g.api.name, Version: g.api.version,
		Extensions: []string{"classification"}}, nil
}

// ModelReady is ready=true for a version that serves, NotFound otherwise,
// as GET /v2/models/{name}/ready answers 200 or 404.
func (g *GRPC) ModelReady(ctx context.Context, req *inference.ModelReadyRequest) (*inference.ModelReadyResponse, error) {
	lease, err := g.lease(ctx, req.GetName(), req.GetVersion(), "grpc_model_ready")
	if err != nil {
		if serving.ErrorCode(err) == serving.NotFound || serving.ErrorCode(err) == serving.Unavailable {
			return &inference.ModelReadyResponse{Ready: false}, nil
		}
		return nil, fail(ctx, err)
	}
	lease.Release()
	return &inference.ModelReadyResponse{Ready: true}, nil
}

// ModelMetadata is GET /v2/models/{name}[/versions/{v}]'s answer.
func (g *GRPC) ModelMetadata(ctx context.Context, req *inference.ModelMetadataRequest) (*inference.ModelMetadataResponse, error) {
	lease, err := g.lease(ctx, req.GetName(), req.GetVersion(), "grpc_model_metadata")
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer lease.Release()
	md := g.api.modelMetadata(req.GetName(), lease)
	out := &inference.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform}
	for _, t := range md.Inputs {
		out.Inputs = append(out.Inputs, &inference.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	for _, t := range md.Outputs {
		out.Outputs = append(out.Outputs, &inference.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	return out, nil
}

// lease resolves a gRPC request's model name and version ("" is the
// latest), as the REST paths' /v2/models/{name}[/versions/{v}] do.
func (g *GRPC) lease(ctx context.Context, name, version, endpoint string) (*registry.Lease, error) {
	ref := rest.Ref{Model: name, Version: registry.Latest}
	if version != "" {
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil || v < 0 {
			reqinfo.Annotate(ctx, name, registry.Latest, endpoint)
			return nil, serving.Errorf(serving.Invalid, "version %q is not a non-negative integer", version)
		}
		ref.Version = v
	}
	reqinfo.Annotate(ctx, name, ref.Version, endpoint)
	if name == "" {
		return nil, serving.Errorf(serving.Invalid, "no model name in the request")
	}
	return rest.LeaseRef(ctx, g.api.registry, ref)
}
