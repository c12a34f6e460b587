package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/imgclf/serving/internal/grpcserver"
	"github.com/imgclf/serving/internal/lifecycle"
	"github.com/imgclf/serving/internal/metrics"
	"github.com/imgclf/serving/internal/model"
	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/protocol/kservev2"
	"github.com/imgclf/serving/internal/protocol/tfserving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/storage"
)

// run sizes the thread settings left at 0 to the CPU limit, checks that
// every model's storage answers, starts serving HTTP (ready
// once every model has a version), loads versions in the background and
// keeps polling for new ones until ctx is done. Then it shuts down:
// readiness fails first, after --shutdown-delay the listener closes,
// in-flight requests drain (up to --shutdown-timeout), the models close,
// and the prediction log writes what it holds within what is left of
// --shutdown-timeout. onListen, if set, gets the bound address (tests
// listen on port 0).
func run(ctx context.Context, cfg Config, logger *slog.Logger, onListen func(addr string)) error {
	cfg = sizeThreads(cfg, logger)
	if cfg.TestFaults.On() {
		logger.Warn(fmt.Sprintf("--test-faults: faults are injected for version %d of every model; for tests only", cfg.TestFaults.Version),
			"test_faults", cfg.TestFaults.String())
	}
	models := registry.New()
	promRegistry := prometheus.NewRegistry()
	mx := metrics.New(promRegistry, models)
	plog, err := startPredictionLog(ctx, cfg.PredictionLog, promRegistry, logger)
	if err != nil {
		return err
	}
	defer func() { // on an early return; after a normal shutdown it is closed already
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		closePredictionLog(ctx, plog, logger)
	}()

	var watchers []*lifecycle.VersionWatcher
	for _, mc := range cfg.Models {
		src, err := storage.New(ctx, mc.BasePath, storage.Options{Logger: logger})
		if err != nil {
			return fmt.Errorf("model %q: %w", mc.Name, err)
		}
		// A base path that does not exist is a configuration error, worth
		// failing on at once; an empty one is waited for.
		if _, err := src.Versions(ctx); err != nil {
			return fmt.Errorf("model %q: %w", mc.Name, err)
		}
		if len(mc.VersionLabels) > 0 {
			models.SetVersionLabels(mc.Name, mc.VersionLabels)
		}
		watchers = append(watchers, lifecycle.NewVersionWatcher(
			lifecycle.Model{Name: mc.Name, Source: src, Policy: mc.Policy},
			lifecycle.Options{Registry: models, Load: loader(cfg, mc, mx, plog, logger), Logger: logger,
				TempDir: cfg.DownloadDir, OnLoad: mx.ObserveLoad},
		))
	}
	defer models.Close() // also on a listen error; a second Close is a no-op

	if cfg.DebugAddr != "" {
		debug, err := startDebugServer(cfg.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer debug.Close()
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("--listen-addr %s: %w", cfg.ListenAddr, err)
	}
	srv := server.New(server.Options{Registry: models, Logger: logger, MaxBodyBytes: cfg.MaxBodyBytes,
		MaxImagePixels: cfg.MaxImagePixels, MaxImages: cfg.MaxImages, Observer: mx, Metrics: mx.Handler(),
		ServerVersion: buildVersion(), UI: cfg.UI, CORSOrigins: cfg.CORSOrigins})
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout, // slow-loris guard
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 2)
	go func() { served <- fmt.Errorf("serving HTTP: %w", httpServer.Serve(ln)) }()
	grpcServer, grpcAddr, err := startGRPC(cfg, models, mx, logger, served)
	if err != nil {
		httpServer.Close()
		return err
	}

	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	var watching sync.WaitGroup
	for _, w := range watchers {
		watching.Add(1)
		go func() { defer watching.Done(); w.Run(watchCtx, cfg.PollInterval) }()
	}
	logger.Info("serving", "addr", ln.Addr().String(), "grpc_addr", grpcAddr, "models", modelNames(cfg.Models), "batching", cfg.Batching,
		"poll_interval", cfg.PollInterval.String(), "tensorflow", model.Version(), "version", buildVersion())
	if onListen != nil {
		onListen(ln.Addr().String())
	}

	select {
	case err := <-served:
		if grpcServer != nil {
			grpcServer.Stop()
		}
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: readiness now fails", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	srv.Drain()
	if grpcServer != nil {
		grpcServer.Drain() // health NOT_SERVING, as readiness fails over HTTP
	}
	stopWatching()
	if cfg.ShutdownDelay > 0 {
		time.Sleep(cfg.ShutdownDelay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var grpcStopped chan bool
	if grpcServer != nil {
		grpcStopped = make(chan bool, 1)
		go func() { grpcStopped <- grpcServer.GracefulStop(shutdownCtx) }()
	}
	err = httpServer.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("requests still running after --shutdown-timeout %s", cfg.ShutdownTimeout)
	}
	if grpcStopped != nil && !<-grpcStopped && err == nil {
		err = fmt.Errorf("gRPC calls still running after --shutdown-timeout %s", cfg.ShutdownTimeout)
	}
	watching.Wait() // a load in progress finishes; its version is closed below
	if cerr := models.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	// Every model is closed, so no record can come: write out the rest.
	closePredictionLog(shutdownCtx, plog, logger)
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

// startGRPC serves TF Serving's and KServe v2's gRPC services on
// --grpc-listen-addr (none when it is empty), reporting Serve's end on
// served; it returns the bound address for the log.
func startGRPC(cfg Config, models *registry.Registry, mx *metrics.Metrics, logger *slog.Logger, served chan<- error) (*grpcserver.Server, string, error) {
	if cfg.GRPCListenAddr == "" {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", cfg.GRPCListenAddr)
	if err != nil {
		return nil, "", fmt.Errorf("--grpc-listen-addr %s: %w", cfg.GRPCListenAddr, err)
	}
	v2 := kservev2.New(kservev2.Options{Registry: models, MaxBodyBytes: cfg.MaxBodyBytes, MaxImagePixels: cfg.MaxImagePixels,
		ServerName: server.DefaultServerName, ServerVersion: buildVersion()})
	tf := tfserving.New(tfserving.Options{Registry: models, MaxBodyBytes: cfg.MaxBodyBytes, MaxImagePixels: cfg.MaxImagePixels})
	s := grpcserver.New(grpcserver.Options{Registry: models, Logger: logger, Observer: mx,
		MaxRecvBytes: int(min(cfg.MaxBodyBytes, math.MaxInt32)), Register: []func(grpc.ServiceRegistrar){tf.GRPC().Register, v2.GRPC().Register}})
	go func() {
		if err := s.Serve(ln); err != nil {
			served <- fmt.Errorf("serving gRPC: %w", err)
		}
	}()
	return s, ln.Addr().String(), nil
}

func modelNames(models []ModelConfig) []string {
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name + "=" + m.BasePath + " (" + m.Policy.String() + ")"
	}
	return names
}

// closePredictionLog closes plog (nil: nothing to do) within ctx, logging
// the records it could not write; they never fail the run.
func closePredictionLog(ctx context.Context, plog *predlog.Log, logger *slog.Logger) {
	if err := plog.Close(ctx); err != nil {
		logger.Error("prediction log incomplete", "err", err.Error())
	}
}
