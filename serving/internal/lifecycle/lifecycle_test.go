package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/storage"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"latest", "latest:1", false},
		{"latest:3", "latest:3", false},
		{"all", "all", false},
		{"specific:1, 4", "specific:1,4", false},
		{"latest:0", "", true},
		{"specific:", "", true},
		{"specific:a", "", true},
		{"newest", "", true},
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && p.String() != tt.want) {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %s (error %v)", tt.in, p, err, tt.want, tt.wantErr)
		}
	}
}

func TestPolicySelect(t *testing.T) {
	avail := []int64{1, 2, 5, 9}
	tests := []struct {
		policy VersionPolicy
		want   string
	}{
		{VersionPolicy{}, "[9]"},
		{VersionPolicy{Latest: 2}, "[9 5]"},
		{VersionPolicy{Latest: 10}, "[9 5 2 1]"},
		{VersionPolicy{All: true}, "[9 5 2 1]"},
		{VersionPolicy{Specific: []int64{2, 3}}, "[2]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(tt.policy.Select(avail)); got != tt.want {
			t.Errorf("%s.Select = %s, want %s", tt.policy, got, tt.want)
		}
	}
	if got := (VersionPolicy{}).Select(nil); len(got) != 0 {
		t.Errorf("Select(nil) = %v", got)
	}
}

// memSource is a Source whose versions tests set; versions in bad fail to fetch.
type memSource struct {
	mu       sync.Mutex
	versions []int64
	bad      map[int64]bool
	listErr  error
	hang     chan struct{} // when set, listing waits for it to close (or for ctx)
}

func (s *memSource) set(vs ...int64) { s.mu.Lock(); s.versions = vs; s.mu.Unlock() }
func (s *memSource) String() string  { return "mem://m" }

func (s *memSource) Versions(ctx context.Context) ([]storage.Version, error) {
	s.mu.Lock()
	hang := s.hang
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []storage.Version
	for _, v := range s.versions {
		out = append(out, storage.Version{Number: v, Path: fmt.Sprintf("mem://m/%d", v)})
	}
	return out, nil
}

func (s *memSource) Fetch(_ context.Context, v storage.Version, _ string) (string, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bad[v.Number] {
		return "", nil, errors.New("saved_model.pb has 3 bytes, the marker says 5")
	}
	return fmt.Sprint(v.Number), func() {}, nil
}

// stubModel records whether it was closed.
type stubModel struct {
	version int64
	closed  atomic.Bool
}

func (m *stubModel) Signature() serving.Signature { return serving.Signature{Name: "serving_default"} }
func (m *stubModel) Predict(context.Context, map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	return nil, nil
}
func (m *stubModel) Close() error { m.closed.Store(true); return nil }

type harness struct {
	reg    *registry.Registry
	src    *memSource
	w      *VersionWatcher
	mu     sync.Mutex
	models map[int64]*stubModel
	loads  int
}

func newHarness(policy VersionPolicy) *harness {
	h := &harness{reg: registry.New(), src: &memSource{bad: map[int64]bool{}}, models: map[int64]*stubModel{}}
	h.w = NewVersionWatcher(Model{Name: "m", Source: h.src, Policy: policy}, Options{
		Registry: h.reg,
		Load: func(_ context.Context, _ string, version int64, dir string) (registry.Loaded, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.loads++
			m := &stubModel{version: version}
			h.models[version] = m
			return registry.Loaded{Model: m, Labels: []string{"cat", "dog"}}, nil
		},
	})
	return h
}

func (h *harness) status(t *testing.T) string {
	t.Helper()
	st, err := h.reg.Status("m", -1)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, s := range st {
		p := fmt.Sprintf("%d:%s", s.Version, s.State)
		if s.Err != nil {
			p += "!"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestWatcherLifecycle(t *testing.T) {
	ctx := context.Background()
	h := newHarness(VersionPolicy{Latest: 1})
	if h.reg.Ready() {
		t.Fatal("ready before any version loaded")
	}
	h.w.Poll(ctx) // nothing published yet
	if h.reg.Ready() || h.status(t) != "" {
		t.Fatalf("ready = %v, status %q with no versions", h.reg.Ready(), h.status(t))
	}

	h.src.set(1)
	h.w.Poll(ctx)
	if !h.reg.Ready() || h.status(t) != "1:AVAILABLE" {
		t.Fatalf("after v1: ready %v, status %q", h.reg.Ready(), h.status(t))
	}
	lease, _ := h.reg.Acquire("m", -1)
	if lease.Version != 1 || lease.Labels[1] != "dog" {
		t.Errorf("lease = %+v", lease)
	}
	lease.Release()

	// A corrupt v2: v1 keeps serving, the status says why, and after
	// MaxLoadAttempts polls it is not retried.
	h.src.bad[2] = true
	h.src.set(1, 2)
	for range 5 {
		h.w.Poll(ctx)
	}
	if got := h.status(t); got != "2:END! 1:AVAILABLE" {
		t.Errorf("after corrupt v2: status %q", got)
	}
	if h.loads != 1 {
		t.Errorf("loads = %d, want 1 (corrupt versions fail before loading)", h.loads)
	}
	st, _ := h.reg.Status("m", 2)
	if !strings.Contains(st[0].Err.Error(), "attempt 3 of 3") || !strings.Contains(st[0].Err.Error(), "marker says 5") {
		t.Errorf("v2 error = %v", st[0].Err)
	}
	if lease, err := h.reg.Acquire("m", -1); err != nil || lease.Version != 1 {
		t.Fatalf("latest = %+v, %v; want v1 still serving", lease, err)
	} else {
		lease.Release()
	}

	// v3 is fine: it replaces v1, which is closed after unloading.
	h.src.set(1, 2, 3)
	h.w.Poll(ctx)
	if got := h.status(t); got != "3:AVAILABLE 2:END! 1:END" {
		t.Errorf("after v3: status %q", got)
	}
	if !h.models[1].closed.Load() || h.models[3].closed.Load() {
		t.Errorf("v1 closed = %v, v3 closed = %v", h.models[1].closed.Load(), h.models[3].closed.Load())
	}

	// Storage unreachable: keep serving v3.
	h.src.listErr = errors.New("connection refused")
	if err := h.w.Poll(ctx); err == nil {
		t.Error("Poll hid a listing error")
	}
	if !h.reg.Ready() {
		t.Error("not ready after a failed listing")
	}
}

func TestWatcherPolicies(t *testing.T) {
	tests := []struct {
		policy VersionPolicy
		want   string
	}{
		{VersionPolicy{Latest: 2}, "3:AVAILABLE 2:AVAILABLE"},
		{VersionPolicy{All: true}, "3:AVAILABLE 2:AVAILABLE 1:AVAILABLE"},
		{VersionPolicy{Specific: []int64{1, 7}}, "1:AVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			h := newHarness(tt.policy)
			h.src.set(1, 2, 3)
			h.w.Poll(context.Background())
			if got := h.status(t); got != tt.want {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWarmup(t *testing.T) {
	var seen []map[string]*serving.Tensor
	img := &fnModel{sig: serving.Signature{Inputs: map[string]serving.TensorInfo{"image_bytes": {DType: serving.DTString, Shape: []int64{-1}}}},
		fn: func(in map[string]*serving.Tensor) error { seen = append(seen, in); return nil }}

	n, err := Warmup(context.Background(), img, t.TempDir())
	if err != nil || n != 1 || !strings.HasPrefix(string(seen[0]["image_bytes"].Strings[0]), "\x89PNG") {
		t.Fatalf("generated warmup: n=%d err=%v", n, err)
	}

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "assets", "warmup"), 0o755)
	for _, name := range []string{"a.jpg", "b.png", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, "assets", "warmup", name), []byte(name), 0o644)
	}
	seen = nil
	if n, err := Warmup(context.Background(), img, dir); err != nil || n != 2 || string(seen[0]["image_bytes"].Strings[0]) != "a.jpg" {
		t.Errorf("warmup images: n=%d err=%v", n, err)
	}

	num := &fnModel{sig: serving.Signature{Inputs: map[string]serving.TensorInfo{"x": {DType: serving.DTFloat, Shape: []int64{-1, 3}}}},
		fn: func(in map[string]*serving.Tensor) error {
			if err := in["x"].Validate(); err != nil || fmt.Sprint(in["x"].Shape) != "[1 3]" {
				return fmt.Errorf("bad warmup tensor %+v", in["x"])
			}
			return nil
		}}
	if _, err := Warmup(context.Background(), num, t.TempDir()); err != nil {
		t.Errorf("numeric warmup: %v", err)
	}

	failing := &fnModel{sig: img.sig, fn: func(map[string]*serving.Tensor) error { return errors.New("boom") }}
	if _, err := Warmup(context.Background(), failing, t.TempDir()); err == nil || !strings.Contains(err.Error(), "warmup request 1 of 1: boom") {
		t.Errorf("failing warmup: %v", err)
	}
}

type fnModel struct {
	sig serving.Signature
	fn  func(map[string]*serving.Tensor) error
}

func (m *fnModel) Signature() serving.Signature { return m.sig }
func (m *fnModel) Predict(_ context.Context, in map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	return nil, m.fn(in)
}
func (m *fnModel) Close() error { return nil }

// A store that accepts the listing but never answers fails that poll after
// ListTimeout; the loaded version keeps serving and the next poll, once the
// store answers again, picks up the new version.
func TestWatcherListingThatHangsTimesOut(t *testing.T) {
	h := newHarness(VersionPolicy{Latest: 1})
	h.w.opts.ListTimeout = 50 * time.Millisecond
	h.src.set(1)
	if err := h.w.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	h.src.mu.Lock()
	h.src.hang = hang
	h.src.mu.Unlock()
	h.src.set(1, 2)
	done := make(chan error, 1)
	go func() { done <- h.w.Poll(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Poll on a hanging store = %v, want a deadline error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Poll still waiting on a store that never answers")
	}
	if got := h.status(t); got != "1:AVAILABLE" {
		t.Fatalf("while the store hangs: %s", got)
	}
	close(hang)
	if err := h.w.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.status(t); got != "2:AVAILABLE 1:END" {
		t.Fatalf("after the store answers again: %s", got)
	}
}
