// Package predlog is the prediction log: a sample of the requests each
// model version answers, one JSON line per request (request id, endpoint,
// latency, the top classes of every row, and what each input image was),
// gzip-compressed into files under
// <uri>/<model>/<version>/date=YYYY-MM-DD/ for offline monitoring (drift,
// data quality) and for building labelled sets from real traffic.
//
// Logging never blocks or fails a request. The model Wrap returns enqueues
// a record after answering, without waiting; a full queue drops it. One
// goroutine (the encoder) turns records into lines, doing the costly parts
// off the request path: hashing and decoding each image for its brightness.
// It rolls a file when it reaches MaxFileBytes uncompressed or is
// FlushInterval old. Another goroutine (the uploader) puts rolled files in
// the store; while the store fails it keeps them in a bounded backlog and
// retries with backoff, dropping the oldest file when the backlog is full.
// With an event URL, the encoder also hands each record to the event
// sender, which POSTs it there as a CloudEvent (events.go); the files are
// then optional. Every record ends up counted, for each of the two, as
// written (sent) or dropped, and why (metrics.go).
package predlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is where rolled files go: storage.Writer (a local directory, gs://
// or s3://) satisfies it.
type Store interface {
	// Put stores data as key, a slash-separated path under the store's base.
	Put(ctx context.Context, key string, data []byte) error
	// String is the store's URI, for logs.
	String() string
}

// Inputs says how much of each input image a record keeps.
type Inputs int

// What a record keeps of an input image, beyond its format, size and
// brightness.
const (
	InputsNone  Inputs = iota // nothing more
	InputsHash                // its SHA-256
	InputsBytes               // its SHA-256 and the bytes themselves
)

var inputsNames = []string{"none", "hash", "bytes"}

func (i Inputs) String() string { return inputsNames[i] }

// ParseInputs reads "none", "hash" or "bytes".
func ParseInputs(s string) (Inputs, error) {
	for i, name := range inputsNames {
		if s == name {
			return Inputs(i), nil
		}
	}
	return 0, fmt.Errorf("%q: use none, hash or bytes", s)
}

// Options configure a Log. Zero values get the defaults noted.
type Options struct {
	Store      Store   // where files go; nil writes none (then EventURL is required)
	SampleRate float64 // fraction of requests logged, 0 to 1
	Inputs     Inputs  // how much of each input image to keep
	TopK       int     // classes per row; default 5

	MaxFileBytes  int64         // roll a file at this uncompressed size; default 8 MiB
	FlushInterval time.Duration // roll a file at this age; default 60s
	QueueSize     int           // records waiting for the encoder; default 10000
	// MaxQueuedBytes bounds the input bytes that queued records hold (the
	// images wait with them for hashing and decoding); default 128 MiB.
	MaxQueuedBytes int64
	// MaxBacklogBytes bounds the rolled files waiting for the store, in
	// compressed bytes; beyond it the oldest is dropped. Default 64 MiB.
	MaxBacklogBytes int64
	RetryMin        time.Duration // first wait after a failed upload or POST; default 1s
	RetryMax        time.Duration // longest wait between retries; default 1m
	PutTimeout      time.Duration // one upload attempt; default 30s

	// EventURL, an http:// or https:// URL, gets every record as a
	// CloudEvent (events.go); "" sends none. Its queue holds up to
	// QueueSize events and MaxQueuedBytes of their bodies.
	EventURL     string
	EventSource  string        // the events' ce-source; default imgclf-predictor/<Host>
	EventSenders int           // POSTs in flight; default 4
	EventTimeout time.Duration // one POST, answer included; default 10s
	EventTries   int           // POSTs of one event before it is dropped; default 5

	// RequestID and Endpoint read the request's id and endpoint name from
	// the context Predict gets (reqinfo.ID, reqinfo.Endpoint).
	RequestID func(context.Context) string
	Endpoint  func(context.Context) string

	Registerer prometheus.Registerer // where the metrics go; nil keeps them private
	Logger     *slog.Logger          // nil discards
	Host       string                // in file names; default the hostname
	PID        int                   // in file names; default this process's id
}

func (o *Options) setDefaults() {
	setDefault(&o.TopK, 5)
	setDefault(&o.MaxFileBytes, 8<<20)
	setDefault(&o.FlushInterval, time.Minute)
	setDefault(&o.QueueSize, 10000)
	setDefault(&o.MaxQueuedBytes, 128<<20)
	setDefault(&o.MaxBacklogBytes, 64<<20)
	setDefault(&o.RetryMin, time.Second)
	setDefault(&o.RetryMax, time.Minute)
	setDefault(&o.PutTimeout, 30*time.Second)
	setDefault(&o.EventSenders, 4)
	setDefault(&o.EventTimeout, 10*time.Second)
	setDefault(&o.EventTries, 5)
	if o.RequestID == nil {
		o.RequestID = func(context.Context) string { return "" }
	}
	if o.Endpoint == nil {
		o.Endpoint = func(context.Context) string { return "" }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	o.Host = fileNamePart(o.Host)
	if o.EventSource == "" {
		o.EventSource = "imgclf-predictor/" + o.Host
	}
	setDefault(&o.PID, os.Getpid())
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Log is a running prediction log. Wrap models with it; Close it last.
// A nil *Log logs nothing: Wrap returns the model as it is.
type Log struct {
	opts    Options
	metrics *metrics

	mu          sync.RWMutex // Close holds it to close queue; enqueue holds it for reading
	closed      bool
	queue       chan *job
	queuedBytes atomic.Int64

	files    *fileSet     // the encoder's; nil without a Store
	uploader *uploader    // takes rolled files from the encoder; nil without a Store
	events   *eventSender // takes records from the encoder; nil without an EventURL

	abort     context.Context // done when Close's deadline passes
	stopAbort context.CancelFunc
	closeOnce sync.Once
	closeErr  error
}

// New starts a Log's encoder, uploader and event senders.
func New(opts Options) (*Log, error) {
	l, err := newLog(opts)
	if err != nil {
		return nil, err
	}
	l.start()
	return l, nil
}

// newLog checks opts and builds a Log whose goroutines have not started.
func newLog(opts Options) (*Log, error) {
	if opts.Store == nil && opts.EventURL == "" {
		return nil, errors.New("prediction log: no store and no event URL")
	}
	if opts.EventURL != "" {
		if err := CheckEventURL(opts.EventURL); err != nil {
			return nil, fmt.Errorf("prediction log: event URL %w", err)
		}
	}
	if !(opts.SampleRate >= 0 && opts.SampleRate <= 1) {
		return nil, fmt.Errorf("prediction log: sample rate %v is not between 0 and 1", opts.SampleRate)
	}
	opts.setDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	l := &Log{opts: opts, metrics: m, queue: make(chan *job, opts.QueueSize)}
	l.abort, l.stopAbort = context.WithCancel(context.Background())
	if opts.Store != nil {
		l.uploader = newUploader(opts, m, l.abort)
		l.files = &fileSet{maxBytes: opts.MaxFileBytes, host: opts.Host, pid: opts.PID,
			open: map[partition]*openFile{}, rolled: l.uploader.add}
	}
	if opts.EventURL != "" {
		l.events = newEventSender(opts, m, l.abort)
	}
	return l, nil
}

func (l *Log) start() {
	if l.uploader != nil {
		go l.uploader.run()
	}
	if l.events != nil {
		l.events.start()
	}
	go l.encode()
}

// sampled draws whether this request is logged.
func (l *Log) sampled() bool {
	switch {
	case l.opts.SampleRate >= 1:
		return true
	case l.opts.SampleRate <= 0:
		return false
	}
	return rand.Float64() < l.opts.SampleRate
}

// enqueue hands j to the encoder without waiting: a full queue (in records
// or in the bytes they hold), or a closed log, drops it.
func (l *Log) enqueue(j *job) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.droppedUnencoded(false)
		return
	}
	if l.queuedBytes.Add(j.size) > l.opts.MaxQueuedBytes {
		l.queuedBytes.Add(-j.size)
		l.droppedUnencoded(false)
		return
	}
	select {
	case l.queue <- j:
	default:
		l.queuedBytes.Add(-j.size)
		l.droppedUnencoded(false)
	}
}

// droppedUnencoded counts a record that never reached the files or the
// event sink (a full queue, a closed log, Close's deadline) once for each
// of them that is on; lost says Close reports it.
func (l *Log) droppedUnencoded(lost bool) {
	if l.uploader != nil {
		l.metrics.dropped(outcomeQueueFull, 1)
		if lost {
			l.uploader.lost.Add(1)
		}
	}
	if l.events != nil {
		l.metrics.event(outcomeQueueFull)
		if lost {
			l.events.lost.Add(1)
		}
	}
}

// Close stops taking records, encodes the queued ones, rolls every open
// file and waits until the uploader has stored them all and the event
// senders have sent (or dropped) every event, or ctx ends: then what is
// left is dropped and counted, and Close says how many records were lost. Wrapped models should be closed first; their later records
// are dropped. It is safe to call twice.
func (l *Log) Close(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.queue)
		l.mu.Unlock()
		stop := context.AfterFunc(ctx, l.stopAbort)
		var errs []error
		if l.uploader != nil {
			<-l.uploader.done
			if n := l.uploader.lost.Load(); n > 0 {
				errs = append(errs, fmt.Errorf("prediction log: %d records not written to %s before the shutdown deadline", n, l.opts.Store))
			}
		}
		if l.events != nil {
			<-l.events.done
			if n := l.events.lost.Load(); n > 0 {
				errs = append(errs, fmt.Errorf("prediction log: %d events not sent to %s before the shutdown deadline", n, l.events.redacted))
			}
		}
		stop()
		l.stopAbort()
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}
