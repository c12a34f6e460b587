package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/model"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/storage"
)

// run finds and loads the latest complete model version, serves HTTP until
// ctx is done, then shuts down: readiness fails first, in-flight requests
// drain (up to cfg.ShutdownTimeout), and the model closes last. onListen,
// if set, gets the bound address (tests listen on port 0).
func run(ctx context.Context, cfg Config, logger *slog.Logger, onListen func(addr string)) error {
	src, err := storage.New(cfg.ModelBasePath, storage.Options{Logger: logger})
	if err != nil {
		return err
	}
	versions, err := src.Versions(ctx)
	if err != nil {
		return err
	}
	latest, ok := storage.Latest(versions)
	if !ok {
		return fmt.Errorf("no complete model version in %s: expected a directory like %s/1/ holding %s and %s",
			cfg.ModelBasePath, cfg.ModelBasePath, storage.SavedModelFile, storage.CompleteMarker)
	}

	registry := server.NewRegistry()
	registry.Set(cfg.ModelName, latest.Number, server.StateLoading, nil, nil)
	start := time.Now()
	m, err := model.Load(latest.Path, model.Options{
		SignatureName:  cfg.SignatureName,
		IntraOpThreads: cfg.IntraOpThreads,
		InterOpThreads: cfg.InterOpThreads,
	})
	if err != nil {
		return fmt.Errorf("model %q version %d: %w", cfg.ModelName, latest.Number, err)
	}
	registry.Set(cfg.ModelName, latest.Number, server.StateAvailable, m, nil)
	defer registry.Close() // also on a listen error; a second Close is a no-op

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("--listen-addr %s: %w", cfg.ListenAddr, err)
	}
	srv := server.New(server.Options{Registry: registry, Logger: logger, MaxBodyBytes: cfg.MaxBodyBytes})
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second, // slow-loris guard; bodies may take longer
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(ln) }()

	sig := m.Signature()
	logger.Info("serving", "addr", ln.Addr().String(), "model", cfg.ModelName, "version", latest.Number,
		"path", latest.Path, "signature", sig.Name, "inputs", describe(sig.Inputs), "outputs", describe(sig.Outputs),
		"tensorflow", model.Version(), "load_seconds", time.Since(start).Seconds())
	if onListen != nil {
		onListen(ln.Addr().String())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	srv.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = httpServer.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("requests still running after --shutdown-timeout %s", cfg.ShutdownTimeout)
	}
	if cerr := registry.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

// describe renders signature tensors for the startup log, e.g.
// "image_bytes:DT_STRING[-1]".
func describe(infos map[string]serving.TensorInfo) []string {
	out := make([]string, 0, len(infos))
	for k, info := range infos {
		out = append(out, fmt.Sprintf("%s:%s%v", k, info.DType, info.Shape))
	}
	sort.Strings(out)
	return out
}
