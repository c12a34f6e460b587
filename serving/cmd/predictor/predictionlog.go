package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/storage"
)

// startPredictionLog opens --prediction-log-uri's store and starts the
// prediction log; nil (which logs nothing) when the flag is empty. The
// records take the request id and endpoint the server put in the request
// context.
func startPredictionLog(ctx context.Context, c PredictionLogConfig, reg prometheus.Registerer, logger *slog.Logger) (*predlog.Log, error) {
	if c.URI == "" {
		return nil, nil
	}
	store, err := storage.NewWriter(ctx, c.URI, storage.Options{Logger: logger, Role: "--prediction-log-uri"})
	if err != nil {
		return nil, err
	}
	l, err := predlog.New(predlog.Options{Store: store, SampleRate: c.SampleRate, Inputs: c.Inputs, TopK: c.TopK,
		MaxFileBytes: c.MaxFileBytes, FlushInterval: c.FlushInterval, QueueSize: c.QueueSize,
		RequestID: server.RequestIDFrom, Endpoint: server.EndpointFrom, Registerer: reg, Logger: logger})
	if err != nil {
		return nil, err
	}
	logger.Info("prediction log on", "uri", store.String(), "sample_rate", c.SampleRate, "inputs", c.Inputs.String(),
		"top_k", c.TopK, "max_file_bytes", c.MaxFileBytes, "flush_interval", c.FlushInterval.String())
	return l, nil
}
