package main

import (
	"context"
	"log/slog"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/reqinfo"
	"github.com/imgclf/serving/internal/storage"
)

// startPredictionLog opens --prediction-log-uri's store and starts the
// prediction log, which also POSTs to --prediction-log-url; nil (which
// logs nothing) when both flags are empty. The records take the request
// id and endpoint the server put in the request context.
func startPredictionLog(ctx context.Context, c PredictionLogConfig, reg prometheus.Registerer, logger *slog.Logger) (*predlog.Log, error) {
	if c.URI == "" && c.URL == "" {
		return nil, nil
	}
	opts := predlog.Options{SampleRate: c.SampleRate, Inputs: c.Inputs, TopK: c.TopK,
		MaxFileBytes: c.MaxFileBytes, FlushInterval: c.FlushInterval, QueueSize: c.QueueSize, EventURL: c.URL,
		RequestID: reqinfo.ID, Endpoint: reqinfo.Endpoint, Registerer: reg, Logger: logger}
	uri := "" // none: events only
	if c.URI != "" {
		store, err := storage.NewWriter(ctx, c.URI, storage.Options{Logger: logger, Role: "--prediction-log-uri"})
		if err != nil {
			return nil, err
		}
		opts.Store, uri = store, store.String()
	}
	l, err := predlog.New(opts)
	if err != nil {
		return nil, err
	}
	logger.Info("prediction log on", "uri", uri, "url", redactedURL(c.URL), "sample_rate", c.SampleRate,
		"inputs", c.Inputs.String(), "top_k", c.TopK, "max_file_bytes", c.MaxFileBytes,
		"flush_interval", c.FlushInterval.String())
	return l, nil
}

// redactedURL hides a password in u, for logs.
func redactedURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}
