package grpcserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/grpcserver"
	"github.com/imgclf/serving/internal/grpcserver/grpctest"
	"github.com/imgclf/serving/internal/protocol/kservev2"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/servingtest"
)

type observed struct {
	model, version, endpoint string
	status                   int
}

type recorder struct{ calls chan observed }

func (r recorder) ObserveRequest(model, version, endpoint string, status int, _ time.Duration) {
	r.calls <- observed{model, version, endpoint, status}
}

// start serves reg's models over gRPC on a loopback port and returns a
// client connection.
func start(t *testing.T, reg *registry.Registry, opts grpcserver.Options) (*grpcserver.Server, *grpc.ClientConn) {
	t.Helper()
	opts.Registry = reg
	opts.HealthPoll = 10 * time.Millisecond
	v2 := kservev2.New(kservev2.Options{Registry: reg, ServerName: "test", ServerVersion: "v"})
	opts.Register = append(opts.Register, v2.GRPC().Register)
	s := grpcserver.New(opts)
	return s, grpctest.Dial(t, s)
}

func withModel() *registry.Registry {
	reg := registry.New()
	reg.Publish("imgclf", 1, registry.Loaded{Model: servingtest.NewImageModel(), Labels: []string{"other", "png"}})
	return reg
}

func healthOf(t *testing.T, conn *grpc.ClientConn) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Status
}

func TestHealthFollowsReadinessAndDrain(t *testing.T) {
	reg := registry.New()
	reg.AddModel("imgclf")
	s, conn := start(t, reg, grpcserver.Options{})
	if st := healthOf(t, conn); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("before a version loads: %v, want NOT_SERVING", st)
	}
	reg.Publish("imgclf", 1, registry.Loaded{Model: servingtest.NewImageModel()})
	deadline := time.Now().Add(5 * time.Second)
	for healthOf(t, conn) != healthpb.HealthCheckResponse_SERVING {
		if time.Now().After(deadline) {
			t.Fatal("health never became SERVING after the model loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Drain()
	if st := healthOf(t, conn); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("draining: %v, want NOT_SERVING", st)
	}
	time.Sleep(30 * time.Millisecond) // a health poll must not undo the drain
	if st := healthOf(t, conn); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("draining after a poll: %v, want NOT_SERVING", st)
	}
}

func TestRequestIDMetricsAndErrors(t *testing.T) {
	rec := recorder{calls: make(chan observed, 4)}
	_, conn := start(t, withModel(), grpcserver.Options{Observer: rec})
	client := inference.NewGRPCInferenceServiceClient(conn)

	var header metadata.MD
	ctx := metadata.AppendToOutgoingContext(context.Background(), grpcserver.RequestIDKey, "abc-123")
	md, err := client.ModelMetadata(ctx, &inference.ModelMetadataRequest{Name: "imgclf"}, grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if got := header.Get(grpcserver.RequestIDKey); len(got) != 1 || got[0] != "abc-123" {
		t.Errorf("x-request-id echoed = %v, want [abc-123]", got)
	}
	if md.Name != "imgclf" || len(md.Versions) != 1 || md.Versions[0] != "1" || len(md.Inputs) == 0 {
		t.Errorf("metadata = %v", md)
	}
	if got := <-rec.calls; got != (observed{"imgclf", "1", "grpc_model_metadata", 200}) {
		t.Errorf("observed %+v", got)
	}

	_, err = client.ModelMetadata(context.Background(), &inference.ModelMetadataRequest{Name: "nope"}, grpc.Header(&header))
	st := status.Convert(err)
	if st.Code() != codes.NotFound || !strings.Contains(st.Message(), `"nope"`) {
		t.Errorf("unknown model: %v %q, want NotFound naming it", st.Code(), st.Message())
	}
	if got := header.Get(grpcserver.RequestIDKey); len(got) != 1 || len(got[0]) != 32 {
		t.Errorf("a fresh request id was not echoed: %v", got)
	}
	if got := <-rec.calls; got != (observed{"", "", "grpc_model_metadata", 404}) {
		t.Errorf("observed %+v (an unknown name must not become a label)", got)
	}
	healthOf(t, conn)
	if got := <-rec.calls; got != (observed{"", "", "grpc_health", 200}) {
		t.Errorf("health check observed as %+v", got)
	}
}

func TestMaxRecvBytesIsResourceExhausted(t *testing.T) {
	_, conn := start(t, withModel(), grpcserver.Options{MaxRecvBytes: 1024})
	client := inference.NewGRPCInferenceServiceClient(conn)
	_, err := client.ModelMetadata(context.Background(), &inference.ModelMetadataRequest{Name: strings.Repeat("x", 2048)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversize request err = %v, want ResourceExhausted", err)
	}
}

func TestGracefulStopBounded(t *testing.T) {
	s, conn := start(t, withModel(), grpcserver.Options{})
	healthOf(t, conn) // the connection is open
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if !s.GracefulStop(ctx) {
		t.Error("GracefulStop with no call in flight did not finish in time")
	}
}

// rawBytes sends a []byte as the message's wire bytes, whatever the method.
type rawBytes struct{}

func (rawBytes) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawBytes) Unmarshal([]byte, any) error   { return nil }
func (rawBytes) Name() string                  { return "proto" }

func TestMalformedMessageIsInvalidArgument(t *testing.T) {
	rec := recorder{calls: make(chan observed, 4)}
	_, conn := start(t, withModel(), grpcserver.Options{Observer: rec})
	for _, method := range []string{inference.GRPCInferenceService_ModelInfer_FullMethodName, healthpb.Health_Check_FullMethodName} {
		var reply []byte
		err := conn.Invoke(context.Background(), method, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, &reply, grpc.ForceCodec(rawBytes{}))
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "not a valid") {
			t.Errorf("%s with bytes that are no message: %v %q, want InvalidArgument", method, st.Code(), st.Message())
		}
		if got := <-rec.calls; got.status != 400 {
			t.Errorf("%s: observed %+v, want status 400", method, got)
		}
	}
	// A health Watch whose request cannot be parsed ends with InvalidArgument too.
	watch, err := healthpb.NewHealthClient(conn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatalf("a valid Watch: %v", err)
	}
	desc := &grpc.StreamDesc{ServerStreams: true}
	bad, err := conn.NewStream(context.Background(), desc, healthpb.Health_Watch_FullMethodName, grpc.ForceCodec(rawBytes{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.SendMsg([]byte{0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	bad.CloseSend()
	if err := bad.RecvMsg(new([]byte)); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Watch with bytes that are no message: %v, want InvalidArgument", err)
	}
	// The server still answers a valid call.
	md, err := inference.NewGRPCInferenceServiceClient(conn).ModelMetadata(context.Background(), &inference.ModelMetadataRequest{Name: "imgclf"})
	if err != nil || md.Name != "imgclf" {
		t.Fatalf("valid call after malformed ones: %v, %v", md, err)
	}
}
