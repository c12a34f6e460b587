// Package grpcserver assembles the predictor's gRPC server, as package
// server assembles its HTTP one: one listener for the protocols' gRPC front
// ends over the same registry, with the interceptors every call passes
// (request id, access log and metrics, panic recovery), the receive size
// limit, and grpc.health.v1 for Kubernetes' gRPC probes (SERVING once the
// registry is ready, NOT_SERVING before that and while draining). A request
// whose bytes are not a valid message is InvalidArgument (malformed.go).
package grpcserver

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
)

// Options configure the server; zero values are valid except Registry.
type Options struct {
	Registry     *registry.Registry
	Logger       *slog.Logger
	Observer     reqinfo.Observer // request metrics; nil: none
	MaxRecvBytes int              // largest request message (--max-body-bytes); 0: gRPC's 4 MiB
	// Register adds the protocols' services (tfserving, kservev2).
	Register []func(grpc.ServiceRegistrar)
	// HealthPoll is how often the health service re-reads the registry's
	// readiness; 0: every second.
	HealthPoll time.Duration
}

// Server is the gRPC server with its health service.
type Server struct {
	grpc     *grpc.Server
	health   *health.Server
	registry *registry.Registry
	poll     time.Duration
	draining atomic.Bool
	stop     chan struct{}
}

// New builds the server; Serve starts it.
func New(opts Options) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bad := newMalformed()
	serverOpts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(bad),
		grpc.ChainUnaryInterceptor(requestID, accessLog(logger, opts.Observer), recoverPanics(logger), bad.unary),
		grpc.ChainStreamInterceptor(bad.stream),
	}
	if opts.MaxRecvBytes > 0 {
		serverOpts = append(serverOpts, grpc.MaxRecvMsgSize(opts.MaxRecvBytes))
	}
	s := &Server{grpc: grpc.NewServer(serverOpts...), health: health.NewServer(), registry: opts.Registry,
		poll: opts.HealthPoll, stop: make(chan struct{})}
	if s.poll <= 0 {
		s.poll = time.Second
	}
	healthpb.RegisterHealthServer(s.grpc, checkNow{s.health, s})
	for _, register := range opts.Register {
		register(s.grpc)
	}
	s.updateHealth()
	return s
}

// Serve answers calls on ln until Stop or GracefulStop; it keeps the health
// status in step with the registry meanwhile.
func (s *Server) Serve(ln net.Listener) error {
	go s.watchHealth()
	return s.grpc.Serve(ln)
}

// Drain marks every service NOT_SERVING for good: the first step of shutdown.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.health.Shutdown()
}

// GracefulStop waits for calls in flight until ctx is done, then cuts the
// rest; it reports whether every call finished.
func (s *Server) GracefulStop(ctx context.Context) bool {
	s.Drain()
	s.stopWatching()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return false
	}
}

// Stop closes every connection at once.
func (s *Server) Stop() {
	s.Drain()
	s.stopWatching()
	s.grpc.Stop()
}

func (s *Server) stopWatching() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
}

func (s *Server) watchHealth() {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.updateHealth()
		}
	}
}

// checkNow answers Check from the registry's readiness at the time of the
// call, so a probe never sees a stale status; Watch streams follow the poll.
type checkNow struct {
	*health.Server
	s *Server
}

func (c checkNow) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	c.s.updateHealth()
	return c.Server.Check(ctx, req)
}

// updateHealth sets the server's status ("" service) from the registry.
func (s *Server) updateHealth() {
	if s.draining.Load() {
		return
	}
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.registry.Ready() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
}
