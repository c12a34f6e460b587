package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/storage"
)

// LoadFunc loads (and warms up) the version in dir, returning the model
// with what else the version holds (labels, model card). dir may be
// removed once it returns.
type LoadFunc func(ctx context.Context, model string, version int64, dir string) (registry.Loaded, error)

// Model is one served model.
type Model struct {
	Name   string
	Source storage.Source
	Policy VersionPolicy
}

// Options configure a VersionWatcher.
type Options struct {
	Registry *registry.Registry
	Load     LoadFunc
	Logger   *slog.Logger // nil discards logs
	// TempDir receives downloads of remote versions ("" = os.TempDir()).
	TempDir string
	// MaxLoadAttempts bounds the loads of a version that keeps failing
	// (default 3): a corrupt version is not reloaded every poll forever.
	MaxLoadAttempts int
	// OnLoad, if set, is called after every load attempt (metrics).
	OnLoad func(model string, version int64, elapsed time.Duration, err error)
	// ListTimeout bounds one listing of the versions (default
	// DefaultListTimeout): a store that accepts connections but never
	// answers fails that poll instead of stopping polling for good.
	ListTimeout time.Duration
}

// DefaultListTimeout is how long one listing of a model's versions may take.
const DefaultListTimeout = time.Minute

// VersionWatcher keeps one model's versions in the registry in step with
// its storage. Poll is not safe for concurrent use; Run calls it.
type VersionWatcher struct {
	model    Model
	opts     Options
	log      *slog.Logger
	loaded   map[int64]bool // published to the registry by this watcher
	failures map[int64]int  // failed load attempts per version
}

// NewVersionWatcher declares the model in the registry (so readiness waits
// for it) and returns its watcher.
func NewVersionWatcher(m Model, opts Options) *VersionWatcher {
	if opts.MaxLoadAttempts <= 0 {
		opts.MaxLoadAttempts = 3
	}
	if opts.ListTimeout <= 0 {
		opts.ListTimeout = DefaultListTimeout
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.Registry.AddModel(m.Name)
	return &VersionWatcher{model: m, opts: opts, log: log.With("model", m.Name),
		loaded: map[int64]bool{}, failures: map[int64]int{}}
}

// Run polls at interval until ctx ends. The first poll starts at once.
func (w *VersionWatcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.Poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll lists the versions, loads each selected one that is not loaded yet
// (newest first), then unloads the loaded versions the policy no longer
// selects, provided a selected version is serving: a failed new version
// never takes the old one down.
func (w *VersionWatcher) Poll(ctx context.Context) error {
	listCtx, cancel := context.WithTimeout(ctx, w.opts.ListTimeout)
	versions, err := w.model.Source.Versions(listCtx)
	cancel()
	if err != nil {
		w.log.Warn("listing model versions failed; serving what is loaded", "path", w.model.Source.String(), "error", err.Error())
		return err
	}
	byNumber := map[int64]storage.Version{}
	var numbers []int64
	for _, v := range versions {
		byNumber[v.Number] = v
		numbers = append(numbers, v.Number)
	}
	want := w.model.Policy.Select(numbers)
	for _, n := range want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !w.loaded[n] && w.failures[n] < w.opts.MaxLoadAttempts {
			w.load(ctx, byNumber[n])
		}
	}
	anyServing := false
	for _, n := range want {
		anyServing = anyServing || w.loaded[n]
	}
	if !anyServing {
		return nil
	}
	for n := range w.loaded {
		if slices.Contains(want, n) {
			continue
		}
		delete(w.loaded, n)
		w.log.Info("unloading model version", "version", n, "policy", w.model.Policy.String())
		if err := w.opts.Registry.Unload(w.model.Name, n); err != nil {
			w.log.Error("unloading model version failed", "version", n, "error", err.Error())
		}
	}
	return nil
}

// load fetches, loads and warms up one version, then publishes it.
func (w *VersionWatcher) load(ctx context.Context, v storage.Version) {
	log := w.log.With("version", v.Number, "path", v.Path)
	w.opts.Registry.Set(w.model.Name, v.Number, registry.StateLoading, nil, nil)
	log.Info("loading model version")
	start := time.Now()
	loaded, err := w.fetchAndLoad(ctx, v)
	elapsed := time.Since(start)
	if w.opts.OnLoad != nil {
		w.opts.OnLoad(w.model.Name, v.Number, elapsed, err)
	}
	if err != nil {
		w.failures[v.Number]++
		attempts := w.failures[v.Number]
		err = fmt.Errorf("loading version %d from %s (attempt %d of %d): %w", v.Number, v.Path, attempts, w.opts.MaxLoadAttempts, err)
		w.opts.Registry.Set(w.model.Name, v.Number, registry.StateEnd, nil, err)
		log.Error("model version failed to load; the versions already loaded keep serving", "error", err.Error(), "attempt", attempts)
		return
	}
	w.opts.Registry.Publish(w.model.Name, v.Number, loaded)
	w.loaded[v.Number] = true
	delete(w.failures, v.Number)
	log.Info("model version AVAILABLE", "load_seconds", elapsed.Seconds(), "labels", len(loaded.Labels), "model_card", loaded.Card != nil)
}

func (w *VersionWatcher) fetchAndLoad(ctx context.Context, v storage.Version) (registry.Loaded, error) {
	dir, cleanup, err := w.model.Source.Fetch(ctx, v, w.opts.TempDir)
	if err != nil {
		return registry.Loaded{}, err
	}
	defer cleanup()
	return w.opts.Load(ctx, w.model.Name, v.Number, dir)
}
