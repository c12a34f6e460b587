package predlog

import (
	"context"
	"errors"
	"image/color"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/servingtest"
)

// failingStore is a store that fails every Put while down is set, and
// otherwise writes through to a real store (nil: discards).
type failingStore struct {
	Store
	down  atomic.Bool
	calls atomic.Int64
}

func (s *failingStore) Put(ctx context.Context, key string, data []byte) error {
	s.calls.Add(1)
	if s.down.Load() {
		return errors.New("store unavailable")
	}
	if s.Store == nil {
		return nil
	}
	return s.Store.Put(ctx, key, data)
}

func (s *failingStore) String() string { return "failing://" }

// TestOutageRetriedWithoutLoss blocks a real local store (a file where the
// model's directory must go), so Put fails, then unblocks it: every record
// arrives, with one warning for the outage and one line on recovery.
func TestOutageRetriedWithoutLoss(t *testing.T) {
	dir := t.TempDir()
	opts, reg := testOptions(t, dir)
	var logs servingtest.SyncBuffer
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	opts.FlushInterval = 20 * time.Millisecond
	blocker := filepath.Join(dir, "m")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := start(t, opts)
	m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
	img := solidPNG(t, 2, 2, color.White)
	for range 5 {
		predict(t, m, context.Background(), img)
		time.Sleep(30 * time.Millisecond) // a few files, each retried
	}
	waitFor(t, "the backlog to hold files", func() bool {
		return counter(t, reg, "predictor_prediction_log_backlog_bytes", "") > 0
	})
	time.Sleep(100 * time.Millisecond) // several retries fail
	if got := strings.Count(logs.String(), "prediction log store fails"); got != 1 {
		t.Errorf("%d outage warnings, want 1:\n%s", got, logs.String())
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backlog to empty", func() bool {
		return counter(t, reg, "predictor_prediction_log_backlog_bytes", "") == 0
	})
	predict(t, m, context.Background(), img)
	closeLog(t, l)
	if n := len(allRecords(readLog(t, blocker))); n != 6 {
		t.Errorf("%d records stored, want all 6", n)
	}
	if !strings.Contains(logs.String(), "prediction log store answers again") {
		t.Errorf("no recovery line:\n%s", logs.String())
	}
	if got := counter(t, reg, "predictor_prediction_log_records_total", "dropped_store_error"); got != 0 {
		t.Errorf("dropped_store_error = %v, want 0", got)
	}
}

// TestBacklogBoundAndShutdownDeadline keeps the store down: the backlog
// drops its oldest files beyond its bound, and Close gives up at its
// deadline; every record is counted exactly once.
func TestBacklogBoundAndShutdownDeadline(t *testing.T) {
	opts, reg := testOptions(t, t.TempDir())
	store := &failingStore{}
	store.down.Store(true)
	opts.Store = store
	opts.MaxFileBytes = 1 // a file per record
	opts.MaxBacklogBytes = 1500
	l := start(t, opts)
	m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
	img := solidPNG(t, 2, 2, color.White)
	const n = 30
	for range n {
		predict(t, m, context.Background(), img)
	}
	waitFor(t, "files to be dropped", func() bool {
		return counter(t, reg, "predictor_prediction_log_files_total", "failed") > 0
	})
	if b := counter(t, reg, "predictor_prediction_log_backlog_bytes", ""); b > 1500+1000 {
		t.Errorf("backlog holds %v bytes, over its 1500-byte bound by more than the file being retried", b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "not written to failing:// before the shutdown deadline") {
		t.Errorf("Close() = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Close took %v with a 200ms deadline", time.Since(start))
	}
	written := counter(t, reg, "predictor_prediction_log_records_total", "written")
	dropped := counter(t, reg, "predictor_prediction_log_records_total", "dropped_store_error") +
		counter(t, reg, "predictor_prediction_log_records_total", "dropped_queue_full")
	if written != 0 || dropped != n {
		t.Errorf("written %v, dropped %v; want 0 and %d", written, dropped, n)
	}
}

// TestCloseRetriesAtOnce: a store that comes back during shutdown gets the
// backlog at once, not after the current (long) backoff.
func TestCloseRetriesAtOnce(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOptions(t, dir)
	store := &failingStore{Store: opts.Store}
	store.down.Store(true)
	opts.Store = store
	opts.FlushInterval = 10 * time.Millisecond
	opts.RetryMin, opts.RetryMax = time.Hour, time.Hour
	l := start(t, opts)
	predict(t, l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil), context.Background(), solidPNG(t, 2, 2, color.White))
	waitFor(t, "a failed put", func() bool { return store.calls.Load() > 0 })
	store.down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(allRecords(readLog(t, dir))); n != 1 {
		t.Errorf("%d records after Close, want 1", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
