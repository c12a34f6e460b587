package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/registry"
)

// LabelsFile names class i on line i+1, as the exporter writes it.
const LabelsFile = "assets/labels.txt"

// CardFile is the version's model card: the exporter's metadata.json
// (evaluation, training parameters, data fingerprint, versions).
const CardFile = "metadata.json"

// maxCardBytes bounds the card kept in memory; the exporter's is a few KiB.
const maxCardBytes = 1 << 20

// loader returns how a model's versions load: TensorFlow session, labels,
// warmup, then the batcher (which also bounds the queue when batching is
// off: one request per run), wrapped by the prediction log when there is
// one (plog nil: none), and for the --test-faults version by the faults
// (outermost, so its delay and failures reach the client).
func loader(cfg Config, mc ModelConfig, mx *metrics.Metrics, plog *predlog.Log, logger *slog.Logger) lifecycle.LoadFunc {
	return func(ctx context.Context, name string, version int64, dir string) (registry.Loaded, error) {
		labels, err := readLabels(dir)
		if err != nil {
			return registry.Loaded{}, err
		}
		card, err := readCard(dir)
		if err != nil {
			// The card is for people; a version without a readable one still serves.
			logger.Warn("model card not served", "model", name, "version", version, "error", err.Error())
		}
		sm, err := model.Load(dir, model.Options{SignatureName: mc.SignatureName,
			IntraOpThreads: cfg.IntraOpThreads, InterOpThreads: cfg.InterOpThreads})
		if err != nil {
			return registry.Loaded{}, err
		}
		n, err := lifecycle.Warmup(ctx, sm, dir)
		if err != nil {
			sm.Close()
			return registry.Loaded{}, err
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
		served := plog.Wrap(batcher.New(sm, opts), name, version, labels)
		if cfg.TestFaults.On() && version == cfg.TestFaults.Version {
			logger.Warn("test faults injected into this version (--test-faults; for tests only)", "model", name, "version", version,
				"test_faults", cfg.TestFaults.String())
		}
		served = cfg.TestFaults.wrap(served, name, version)
		return registry.Loaded{Model: served, Labels: labels, Card: card}, nil
	}
}

// readCard reads metadata.json: nil when the version has none, an error
// when it is too big or not a JSON object.
func readCard(dir string) (json.RawMessage, error) {
	f, err := os.Open(filepath.Join(dir, CardFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCardBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", CardFile, err)
	case len(b) > maxCardBytes:
		return nil, fmt.Errorf("%s is over %d bytes", CardFile, maxCardBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %w", CardFile, err)
	}
	return json.RawMessage(b), nil
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
