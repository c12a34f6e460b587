package batcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imgclf/serving"
)

// echoModel multiplies input "x" by 10. A -1 in x is bad input. While gate
// is non-nil each run waits for a value on it, so tests can hold the worker.
type echoModel struct {
	mu      sync.Mutex
	batches [][]int64 // x of every run, in order
	gate    chan struct{}
	started chan struct{} // gets a value when a run starts, if non-nil
	noBatch bool          // reply with a scalar output (not batch-major)
	closed  bool
}

func (m *echoModel) Signature() serving.Signature { return serving.Signature{Name: "echo"} }

func (m *echoModel) Predict(_ context.Context, in map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	x := in["x"]
	m.mu.Lock()
	m.batches = append(m.batches, slices.Clone(x.Int64))
	m.mu.Unlock()
	if m.started != nil {
		m.started <- struct{}{}
	}
	if m.gate != nil {
		<-m.gate
	}
	if slices.Contains(x.Int64, -1) {
		return nil, serving.Errorf(serving.Invalid, "-1 is not allowed")
	}
	if m.noBatch {
		return map[string]*serving.Tensor{"y": {DType: serving.DTInt64, Shape: []int64{}, Int64: []int64{0}}}, nil
	}
	y := &serving.Tensor{DType: serving.DTInt64, Shape: slices.Clone(x.Shape)}
	for _, v := range x.Int64 {
		y.Int64 = append(y.Int64, v*10)
	}
	return map[string]*serving.Tensor{"y": y}, nil
}

func (m *echoModel) Close() error { m.mu.Lock(); m.closed = true; m.mu.Unlock(); return nil }

func (m *echoModel) runs() [][]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.batches)
}

func xs(vals ...int64) map[string]*serving.Tensor {
	return map[string]*serving.Tensor{"x": {DType: serving.DTInt64, Shape: []int64{int64(len(vals))}, Int64: vals}}
}

type reply struct {
	in  []int64
	out []int64
	err error
}

// sendAll sends each request from its own goroutine, in order (request i is
// queued before request i+1 is sent), and returns a function that waits for
// the replies.
func sendAll(t *testing.T, b *Batcher, reqs [][]int64) func() []reply {
	t.Helper()
	replies := make([]reply, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		before := b.QueueLen()
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Predict(context.Background(), xs(r...))
			replies[i] = reply{in: r, err: err}
			if err == nil {
				replies[i].out = out["y"].Int64
			}
		}()
		waitFor(t, func() bool { return b.QueueLen() > before })
	}
	return func() []reply { wg.Wait(); return replies }
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// holdWorker occupies b's only worker with a full batch of zeros until m.gate
// is closed.
func holdWorker(b *Batcher, m *echoModel) {
	go b.Predict(context.Background(), xs(make([]int64, b.opts.MaxBatchSize)...))
	<-m.started
}

// TestBatching holds the only worker busy with a first request, queues the
// others, then releases it and checks how the queue was cut into runs and
// that every caller got its own rows back.
func TestBatching(t *testing.T) {
	tests := []struct {
		name     string
		maxBatch int
		reqs     [][]int64 // after the blocking first request {0}
		wantRuns [][]int64
		wantErr  map[int]serving.Code // request index -> error code
	}{
		{name: "merged up to max", maxBatch: 4, reqs: [][]int64{{1}, {2, 3}, {4}, {5}},
			wantRuns: [][]int64{{1, 2, 3, 4}, {5}}},
		{name: "max 1 never merges", maxBatch: 1, reqs: [][]int64{{1}, {2}},
			wantRuns: [][]int64{{1}, {2}}},
		{name: "request over max runs alone", maxBatch: 2, reqs: [][]int64{{1, 2, 3}, {4}},
			wantRuns: [][]int64{{1, 2, 3}, {4}}},
		{name: "bad input fails only its request", maxBatch: 8, reqs: [][]int64{{1}, {-1}, {3}},
			wantRuns: [][]int64{{1, -1, 3}, {1}, {-1}, {3}}, wantErr: map[int]serving.Code{1: serving.Invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 100)}
			b := New(m, Options{MaxBatchSize: tt.maxBatch, Timeout: 10 * time.Millisecond, MaxQueued: 100, Workers: 1})
			defer b.Close()
			first := make(chan error, 1)
			go func() { _, err := b.Predict(context.Background(), xs(make([]int64, tt.maxBatch)...)); first <- err }()
			<-m.started // the worker is busy; everything below queues
			wait := sendAll(t, b, tt.reqs)
			close(m.gate)
			replies := wait()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if got := m.runs()[1:]; fmt.Sprint(got) != fmt.Sprint(tt.wantRuns) {
				t.Errorf("runs = %v, want %v", got, tt.wantRuns)
			}
			for i, r := range replies {
				if code := tt.wantErr[i]; code != "" {
					if serving.ErrorCode(r.err) != code {
						t.Errorf("request %v: err = %v, want %s", r.in, r.err, code)
					}
					continue
				}
				if r.err != nil {
					t.Errorf("request %v: %v", r.in, r.err)
					continue
				}
				for j := range r.in {
					if r.out[j] != r.in[j]*10 {
						t.Errorf("request %v got %v: rows mixed up", r.in, r.out)
					}
				}
			}
		})
	}
}

func TestDifferentShapesAreNotMerged(t *testing.T) {
	m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 8, Timeout: 10 * time.Millisecond, Workers: 1})
	defer b.Close()
	holdWorker(b, m)
	wide := map[string]*serving.Tensor{"x": {DType: serving.DTInt64, Shape: []int64{1, 2}, Int64: []int64{7, 8}}}
	var wg sync.WaitGroup
	for _, in := range []map[string]*serving.Tensor{xs(1), wide, xs(2)} {
		n := b.QueueLen()
		wg.Add(1)
		go func() { defer wg.Done(); b.Predict(context.Background(), in) }()
		waitFor(t, func() bool { return b.QueueLen() > n })
	}
	close(m.gate)
	wg.Wait()
	if got := fmt.Sprint(m.runs()[1:]); got != "[[1] [7 8] [2]]" {
		t.Errorf("runs = %s, want [[1] [7 8] [2]] (arrival order, shapes never mixed)", got)
	}
}

func TestFullQueueSheds(t *testing.T) {
	m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 1, MaxQueued: 2, Workers: 1})
	defer b.Close()
	holdWorker(b, m)
	for i := range 2 {
		go b.Predict(context.Background(), xs(int64(i)))
	}
	waitFor(t, func() bool { return b.QueueLen() == 2 })
	_, err := b.Predict(context.Background(), xs(9))
	if serving.ErrorCode(err) != serving.Overloaded {
		t.Errorf("third queued request: err = %v, want overloaded", err)
	}
	close(m.gate)
}

func TestCanceledRequestLeavesTheQueue(t *testing.T) {
	m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 4, Timeout: time.Hour, Workers: 1})
	holdWorker(b, m)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Predict(ctx, xs(5)); errc <- err }()
	waitFor(t, func() bool { return b.QueueLen() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := b.QueueLen(); n != 0 {
		t.Errorf("queue length after cancel = %d, want 0", n)
	}
	close(m.gate)
	b.Close()
	for _, run := range m.runs() {
		if slices.Contains(run, 5) {
			t.Errorf("canceled request ran: runs = %v", m.runs())
		}
	}
}

// TestTimeoutRunsAPartialBatch: while another run is in flight a partial
// batch waits for company, but only for Timeout: then it runs as it is, with
// the other run still going (a second worker is free).
func TestTimeoutRunsAPartialBatch(t *testing.T) {
	m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 8, Timeout: 20 * time.Millisecond, Workers: 2})
	defer b.Close()
	holdWorker(b, m) // run 1 in flight until the gate opens
	got := make(chan reply, 1)
	go func() {
		out, err := b.Predict(context.Background(), xs(4))
		r := reply{err: err}
		if err == nil {
			r.out = out["y"].Int64
		}
		got <- r
	}()
	select {
	case <-m.started: // run 2 started while run 1 is still held: the timeout fired
	case <-time.After(5 * time.Second): // only catches a hang
		t.Fatal("the partial batch never ran while another run was in flight")
	}
	close(m.gate)
	if r := <-got; r.err != nil || !slices.Equal(r.out, []int64{40}) {
		t.Fatalf("Predict = %v, %v", r.out, r.err)
	}
	if runs := m.runs(); len(runs) != 2 || !slices.Equal(runs[1], []int64{4}) {
		t.Errorf("runs = %v, want the held batch then [4] alone", runs)
	}
}

// TestRunEndWakesAWaitingBatch: a request that waits for company because a
// run is in flight must run as soon as that run ends, not after Timeout
// (regression: the collector was not woken when a run ended).
func TestRunEndWakesAWaitingBatch(t *testing.T) {
	m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 8, Timeout: time.Hour, Workers: 2})
	defer b.Close()
	holdWorker(b, m) // runs 1 and 2 hold both workers
	holdWorker(b, m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // only catches a hang
	defer cancel()
	wait := make(chan error, 1)
	go func() {
		_, err := b.Predict(ctx, xs(4))
		wait <- err
	}()
	waitFor(t, func() bool { return b.QueueLen() == 1 }) // queued behind the held runs
	m.gate <- struct{}{}                                 // run 1 ends: the request is taken...
	waitFor(t, func() bool { return b.QueueLen() == 0 }) // ...and waits, as run 2 is in flight
	close(m.gate)                                        // run 2 ends: nothing else is in flight
	if err := <-wait; err != nil {
		t.Fatalf("the waiting request after the last run ended: %v (waited for Timeout?)", err)
	}
}

// TestIdleBatcherDoesNotWait: with no run in flight a lone request runs at
// once instead of waiting Timeout for company (c=1 latency stays that of
// the model).
func TestIdleBatcherDoesNotWait(t *testing.T) {
	m := &echoModel{}
	b := New(m, Options{MaxBatchSize: 8, Timeout: time.Hour, Workers: 2})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if _, err := b.Predict(ctx, xs(int64(i))); err != nil {
			t.Fatalf("request %d: %v (waited for a batch while idle?)", i, err)
		}
	}
}

func TestUnsplittableOutputFailsTheBatch(t *testing.T) {
	m := &echoModel{noBatch: true, gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 8, Timeout: 10 * time.Millisecond, Workers: 1})
	defer b.Close()
	holdWorker(b, m)
	wait := sendAll(t, b, [][]int64{{1}, {2}})
	close(m.gate)
	replies := wait()
	for _, r := range replies {
		if serving.ErrorCode(r.err) != serving.Internal {
			t.Errorf("request %v: err = %v, want internal (output does not split)", r.in, r.err)
		}
	}
}

func TestCloseRunsQueuedThenClosesModel(t *testing.T) {
	m := &echoModel{gate: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(m, Options{MaxBatchSize: 1, Workers: 1})
	holdWorker(b, m)
	errc := make(chan error, 1)
	go func() { _, err := b.Predict(context.Background(), xs(1)); errc <- err }()
	waitFor(t, func() bool { return b.QueueLen() == 1 })
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.closed })
	if _, err := b.Predict(context.Background(), xs(2)); serving.ErrorCode(err) != serving.Unavailable {
		t.Errorf("Predict after Close: err = %v, want unavailable", err)
	}
	close(m.gate)
	if err := <-errc; err != nil {
		t.Errorf("queued request: %v, want it served before close", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !m.closed {
		t.Error("model not closed")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConcurrentStress runs many callers with random cancellations under
// -race and checks that every completed reply has its own rows.
func TestConcurrentStress(t *testing.T) {
	var rows, runs int
	var mu sync.Mutex
	m := &echoModel{}
	b := New(m, Options{MaxBatchSize: 16, Timeout: time.Millisecond, Workers: 2, MaxQueued: 1000,
		OnBatch: func(r, _ int) { mu.Lock(); rows += r; runs++; mu.Unlock() }})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%7 == 0 {
				cancel()
			}
			out, err := b.Predict(ctx, xs(int64(i), int64(i)+1))
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("request %d: %v", i, err)
				}
				return
			}
			if y := out["y"].Int64; y[0] != int64(i)*10 || y[1] != (int64(i)+1)*10 {
				t.Errorf("request %d got %v", i, y)
			}
		}()
	}
	wg.Wait()
	b.Close()
	if runs == 0 || rows < 2*(200-29) {
		t.Errorf("OnBatch saw %d rows in %d runs", rows, runs)
	}
}
