package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/batcher"
	"github.com/imgclf/serving/internal/lifecycle"
	"github.com/imgclf/serving/internal/metrics"
	"github.com/imgclf/serving/internal/model"
)

// LabelsFile names class i on line i+1, as the exporter writes it.
const LabelsFile = "assets/labels.txt"

// loader returns how a model's versions load: TensorFlow session, labels,
// warmup, then the batcher (which also bounds the queue when batching is
// off: one request per run).
func loader(cfg Config, mc ModelConfig, mx *metrics.Metrics, logger *slog.Logger) lifecycle.LoadFunc {
	return func(ctx context.Context, name string, version int64, dir string) (serving.Model, []string, error) {
		labels, err := readLabels(dir)
		if err != nil {
			return nil, nil, err
		}
		sm, err := model.Load(dir, model.Options{SignatureName: mc.SignatureName,
			IntraOpThreads: cfg.IntraOpThreads, InterOpThreads: cfg.InterOpThreads})
		if err != nil {
			return nil, nil, err
		}
		n, err := lifecycle.Warmup(ctx, sm, dir)
		if err != nil {
			sm.Close()
			return nil, nil, err
		}
		sig := sm.Signature()
		logger.Info("model version loaded", "model", name, "version", version, "signature", sig.Name,
			"inputs", describe(sig.Inputs), "outputs", describe(sig.Outputs), "warmup_requests", n)
		opts := batcher.Options{MaxBatchSize: 1, MaxQueued: cfg.MaxQueued, Workers: cfg.BatchThreads}
		if mx != nil {
			opts.OnBatch = func(rows, _ int) { mx.ObserveBatch(name, rows) }
		}
		if cfg.Batching {
			opts.MaxBatchSize, opts.Timeout = cfg.MaxBatchSize, cfg.BatchTimeout
		}
		return batcher.New(sm, opts), labels, nil
	}
}

// readLabels reads assets/labels.txt (nil when the version has none).
func readLabels(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(LabelsFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", LabelsFile, err)
	}
	var labels []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		labels = append(labels, strings.TrimSpace(sc.Text()))
	}
	for len(labels) > 0 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	return labels, sc.Err()
}

// describe renders signature tensors for the log, e.g.
// "image_bytes:DT_STRING[-1]".
func describe(infos map[string]serving.TensorInfo) []string {
	out := make([]string, 0, len(infos))
	for k, info := range infos {
		out = append(out, fmt.Sprintf("%s:%s%v", k, info.DType, info.Shape))
	}
	sort.Strings(out)
	return out
}
