// Package batcher puts a bounded queue in front of a serving.Model and
// merges concurrent Predict calls into one session run (dynamic batching).
//
// One goroutine takes requests off the queue in arrival order. When a worker
// is free it starts a batch with the oldest request and adds the following
// ones while they fit (same inputs, dtypes and per-row shapes; at most
// MaxBatchSize rows), waiting up to Timeout for more while another run is in
// flight; with none in flight it runs what it has at once, since waiting
// would only leave the hardware idle. The batch runs as one
// Predict, and each caller gets its own rows of every output back. With
// MaxBatchSize 1 nothing is merged and the Batcher only bounds concurrency
// (Workers) and the queue (MaxQueued).
package batcher

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/imgclf/serving"
)

// Options configure a Batcher. Zero values get the defaults noted.
type Options struct {
	MaxBatchSize int           // rows in one run; default 1 (no merging)
	Timeout      time.Duration // how long a partial batch waits for more rows; 0 = never waits
	MaxQueued    int           // requests waiting for a worker; more get serving.Overloaded; default 128
	Workers      int           // runs in flight at once; default 1
	// OnBatch, if set, is called before each run with its rows and requests.
	OnBatch func(rows, requests int)
}

// Batcher implements serving.Model over another serving.Model.
type Batcher struct {
	model serving.Model
	opts  Options

	mu     sync.Mutex
	queue  []*task // waiting, oldest first
	closed bool

	wake      chan struct{} // capacity 1: something was queued, or Close was called
	done      chan struct{} // closed when the loop has drained the queue and every run ended
	closeOnce sync.Once
	closeErr  error
}

var _ serving.Model = (*Batcher)(nil)

type task struct {
	ctx    context.Context
	inputs map[string]*serving.Tensor
	rows   int64
	key    string      // tasks with equal non-empty keys can share a run
	result chan result // capacity 1, so a run never blocks on a caller that left
}

type result struct {
	out map[string]*serving.Tensor
	err error
}

// New starts a Batcher over m. Close it to stop its goroutine; that also
// closes m.
func New(m serving.Model, opts Options) *Batcher {
	if opts.MaxBatchSize < 1 {
		opts.MaxBatchSize = 1
	}
	if opts.MaxQueued < 1 {
		opts.MaxQueued = 128
	}
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	b := &Batcher{model: m, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.loop()
	return b
}

// Signature is the wrapped model's.
func (b *Batcher) Signature() serving.Signature { return b.model.Signature() }

// QueueLen is the number of requests waiting for a worker.
func (b *Batcher) QueueLen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// Predict queues the request and waits for its rows of the batch's outputs.
// A full queue fails at once with serving.Overloaded; a caller whose ctx
// ends while queued is removed from the queue and never runs.
func (b *Batcher) Predict(ctx context.Context, inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &task{ctx: ctx, inputs: inputs, result: make(chan result, 1)}
	t.rows, t.key = batchKey(inputs)
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return nil, serving.Errorf(serving.Unavailable, "model version is unloading; retry")
	case len(b.queue) >= b.opts.MaxQueued:
		b.mu.Unlock()
		return nil, serving.Errorf(serving.Overloaded, "%d requests are already queued for this model version; retry later", b.opts.MaxQueued)
	}
	b.queue = append(b.queue, t)
	b.mu.Unlock()
	b.signal()

	select {
	case r := <-t.result:
		return r.out, r.err
	case <-ctx.Done():
		b.remove(t) // a no-op once a batch took it: the run then finishes unobserved
		return nil, ctx.Err()
	}
}

// Close stops accepting requests, runs the ones already queued, waits for
// every run, then closes the wrapped model. It is safe to call twice.
func (b *Batcher) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.signal()
		<-b.done
		b.closeErr = b.model.Close()
	})
	return b.closeErr
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (b *Batcher) remove(t *task) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.Index(b.queue, t); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
}

// loop forms a batch whenever a worker is free, so batches grow while every
// worker is busy, and hands it to a goroutine.
func (b *Batcher) loop() {
	defer close(b.done)
	free := make(chan struct{}, b.opts.Workers)
	var running sync.WaitGroup
	defer running.Wait()
	for {
		free <- struct{}{} // blocks while Workers runs are in flight
		batch := b.collect(func() bool { return len(free) > 1 })
		if batch == nil {
			return // closed and drained
		}
		running.Add(1)
		go func() {
			// Wake collect when this run ends: a batch it holds while waiting for
			// company must run now if no other run is left in flight.
			defer func() { <-free; running.Done(); b.signal() }()
			b.run(batch)
		}()
	}
}

// collect waits for the oldest task, then takes the tasks behind it while
// they fit, until the batch is full, the next task cannot join, or Timeout
// passes; it waits for more only while othersRunning. It returns nil once
// closed with an empty queue.
func (b *Batcher) collect(othersRunning func() bool) []*task {
	var (
		batch []*task
		rows  int64
		timer *time.Timer
		full  bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		b.mu.Lock()
		for len(b.queue) > 0 && !full {
			t := b.queue[0]
			if len(batch) > 0 && (t.key == "" || t.key != batch[0].key || rows+t.rows > int64(b.opts.MaxBatchSize)) {
				full = true // the next task leads the next batch
				break
			}
			b.queue[0] = nil
			b.queue = b.queue[1:]
			batch = append(batch, t)
			rows += t.rows
			full = t.key == "" || rows >= int64(b.opts.MaxBatchSize)
		}
		closed := b.closed
		b.mu.Unlock()

		switch {
		case full || (closed && len(batch) > 0):
			return batch
		case closed:
			return nil
		case len(batch) > 0 && (b.opts.Timeout <= 0 || !othersRunning()):
			return batch
		case len(batch) > 0 && timer == nil:
			timer = time.NewTimer(b.opts.Timeout)
		}
		var expired <-chan time.Time
		if timer != nil {
			expired = timer.C
		}
		select {
		case <-b.wake:
		case <-expired:
			return batch
		}
	}
}

// run predicts one batch and hands each task its result. Tasks whose caller
// left are dropped first. When a merged run fails on bad input, each task
// is rerun alone so only the request at fault gets the error.
func (b *Batcher) run(batch []*task) {
	live := batch[:0]
	for _, t := range batch {
		if t.ctx.Err() == nil {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return
	}
	rows := make([]int64, len(live))
	total := 0
	for i, t := range live {
		rows[i] = t.rows
		total += int(t.rows)
	}
	if b.opts.OnBatch != nil {
		b.opts.OnBatch(total, len(live))
	}
	if len(live) == 1 {
		out, err := b.model.Predict(live[0].ctx, live[0].inputs)
		live[0].result <- result{out, err}
		return
	}

	inputs := concat(live)
	// The run serves several callers, so no single caller's cancellation
	// may stop it (TF_SessionRun cannot be interrupted anyway).
	out, err := b.model.Predict(context.WithoutCancel(live[0].ctx), inputs)
	var parts []map[string]*serving.Tensor
	if err == nil {
		parts, err = split(out, rows)
	}
	if serving.ErrorCode(err) == serving.Invalid {
		for _, t := range live {
			out, err := b.model.Predict(t.ctx, t.inputs)
			t.result <- result{out, err}
		}
		return
	}
	for i, t := range live {
		if err != nil {
			t.result <- result{nil, err}
		} else {
			t.result <- result{parts[i], nil}
		}
	}
}
