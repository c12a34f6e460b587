package predlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// uploader puts rolled files in the store, oldest first. While the store
// fails it keeps them (at most maxBytes, compressed; beyond that the
// oldest waiting file is dropped) and retries the oldest with exponential
// backoff, logging one warning per outage and one line on recovery.
type uploader struct {
	store      Store
	putTimeout time.Duration
	retryMin   time.Duration
	retryMax   time.Duration
	maxBytes   int64
	logger     *slog.Logger
	metrics    *metrics
	abort      context.Context // Close's deadline passed: stop retrying

	mu       sync.Mutex
	waiting  []*rolledFile // oldest first; the file being put is not here
	bytes    int64         // of waiting and the file being put
	overfull bool          // a file was dropped during this outage (logged once)

	wake   chan struct{} // capacity 1: a file was added
	noMore chan struct{} // closed by finish: the encoder is done
	done   chan struct{} // closed when run returns
	lost   atomic.Int64  // records given up on at shutdown
}

func newUploader(opts Options, m *metrics, abort context.Context) *uploader {
	return &uploader{store: opts.Store, putTimeout: opts.PutTimeout, retryMin: opts.RetryMin,
		retryMax: max(opts.RetryMax, opts.RetryMin), maxBytes: opts.MaxBacklogBytes, logger: opts.Logger,
		metrics: m, abort: abort, wake: make(chan struct{}, 1), noMore: make(chan struct{}),
		done: make(chan struct{})}
}

// add queues a rolled file, dropping the oldest waiting ones while the
// backlog is over its bound.
func (u *uploader) add(f *rolledFile) {
	u.mu.Lock()
	u.waiting = append(u.waiting, f)
	u.bytes += int64(len(f.data))
	for u.bytes > u.maxBytes && len(u.waiting) > 1 {
		old := u.waiting[0]
		u.waiting = u.waiting[1:]
		u.bytes -= int64(len(old.data))
		u.metrics.fileFailed(old.records)
		if !u.overfull {
			u.overfull = true
			u.logger.Warn("prediction log backlog full: dropping the oldest files until the store answers",
				"uri", u.store.String(), "dropped", old.key, "records", old.records, "max_backlog_bytes", u.maxBytes)
		}
	}
	u.metrics.backlog.Set(float64(u.bytes))
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// finish says no more files will be added.
func (u *uploader) finish() { close(u.noMore) }

// run is the uploader goroutine. It returns once every file is stored and
// the encoder is done, or when abort ends it (Close's deadline).
func (u *uploader) run() {
	defer close(u.done)
	backoff := u.retryMin
	var outageSince time.Time
	finishing := false // the encoder is done: retry at once, then with backoff again
	for {
		f := u.next()
		if f == nil {
			u.giveUp()
			return
		}
		ctx, cancel := context.WithTimeout(u.abort, u.putTimeout)
		err := u.store.Put(ctx, f.key, f.data)
		cancel()
		if err == nil {
			u.stored(f)
			if !outageSince.IsZero() {
				u.logger.Info("prediction log store answers again", "uri", u.store.String(),
					"outage", time.Since(outageSince).Round(time.Millisecond).String())
				outageSince = time.Time{}
			}
			backoff = u.retryMin
			continue
		}
		u.putBack(f)
		if outageSince.IsZero() {
			outageSince = time.Now()
			u.logger.Warn("prediction log store fails: keeping files and retrying", "uri", u.store.String(),
				"file", f.key, "error", err.Error(), "max_backlog_bytes", u.maxBytes)
		}
		timer := time.NewTimer(backoff)
		var noMore <-chan struct{}
		if !finishing {
			noMore = u.noMore
		}
		select {
		case <-timer.C:
			backoff = min(2*backoff, u.retryMax)
		case <-noMore: // shutting down: try once more now rather than after a long backoff
			finishing, backoff = true, u.retryMin
		case <-u.abort.Done():
			timer.Stop()
			u.giveUp()
			return
		}
		timer.Stop()
	}
}

// next takes the oldest waiting file, waiting for one; nil once the
// encoder is done and nothing waits, or on abort with nothing waiting.
func (u *uploader) next() *rolledFile {
	for {
		u.mu.Lock()
		if len(u.waiting) > 0 {
			f := u.waiting[0]
			u.waiting = u.waiting[1:]
			u.mu.Unlock()
			return f
		}
		u.mu.Unlock()
		select {
		case <-u.wake:
		case <-u.noMore: // finish follows the encoder's last add: nothing more can come
			u.mu.Lock()
			empty := len(u.waiting) == 0
			u.mu.Unlock()
			if empty {
				return nil
			}
		case <-u.abort.Done():
			return nil
		}
	}
}

// putBack returns a file that failed to the head of the backlog.
func (u *uploader) putBack(f *rolledFile) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.waiting = append([]*rolledFile{f}, u.waiting...)
}

func (u *uploader) stored(f *rolledFile) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes -= int64(len(f.data))
	u.overfull = false
	u.metrics.fileWritten(f.records)
	u.metrics.backlog.Set(float64(u.bytes))
}

// giveUp drops what is still waiting once the encoder is done (it drains
// fast after abort), counting its records as lost.
func (u *uploader) giveUp() {
	<-u.noMore
	u.mu.Lock()
	defer u.mu.Unlock()
	records := 0
	for _, f := range u.waiting {
		u.metrics.fileFailed(f.records)
		records += f.records
	}
	if len(u.waiting) > 0 {
		u.logger.Error("prediction log: files not stored before the shutdown deadline", "uri", u.store.String(),
			"files", len(u.waiting), "records", records)
	}
	u.lost.Add(int64(records))
	u.waiting, u.bytes = nil, 0
	u.metrics.backlog.Set(0)
}
