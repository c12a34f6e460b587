package predlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EventType is the CloudEvents type of every event the sink gets: one
// event per record (KServe's logger sends two, of types
// org.kubeflow.serving.inference.request and .response).
const EventType = "org.imgclf.prediction"

// CheckEventURL accepts an absolute http:// or https:// URL with a host.
func CheckEventURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http:// or https:// URL, e.g. http://broker-ingress.knative-eventing.svc/default/default", s)
	}
	return nil
}

// event is one record on its way to the sink: its body is the record's
// JSON, exactly the line the files get (without the newline).
type event struct {
	id      string
	rec     *Record
	subject string
	body    []byte
}

// eventSender POSTs each record to Options.EventURL as a CloudEvent in
// HTTP binary content mode (CloudEvents 1.0 HTTP binding): the attributes
// are ce-* headers, the body is the record. It has its own bounded queue,
// filled by the encoder without waiting (a full one drops the event), so a
// slow or dead sink never holds back the files; a few senders empty it.
// A POST that fails (connection error, timeout, 5xx, 429) is retried with
// backoff a bounded number of times, then the event is dropped; a 4xx
// other than 429 is the sink refusing the event, dropped at once. One
// warning per outage, one line on recovery.
type eventSender struct {
	url      string // where to POST
	redacted string // url without a password, for logs
	source   string // ce-source
	client   *http.Client
	senders  int
	tries    int
	retryMin time.Duration
	retryMax time.Duration
	maxBytes int64 // of queued bodies
	logger   *slog.Logger
	metrics  *metrics
	abort    context.Context // Close's deadline passed: stop sending

	queue       chan *event // closed by finish
	queuedBytes atomic.Int64
	seq         atomic.Uint64
	failing     atomic.Bool // warned about this outage; the next success logs recovery
	done        chan struct{}
	lost        atomic.Int64 // events given up on at shutdown
}

func newEventSender(opts Options, m *metrics, abort context.Context) *eventSender {
	u, _ := url.Parse(opts.EventURL) // checked by newLog
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = opts.EventSenders
	return &eventSender{url: opts.EventURL, redacted: u.Redacted(), source: opts.EventSource,
		client:  &http.Client{Timeout: opts.EventTimeout, Transport: transport},
		senders: opts.EventSenders, tries: opts.EventTries, retryMin: opts.RetryMin,
		retryMax: max(opts.RetryMax, opts.RetryMin), maxBytes: opts.MaxQueuedBytes, logger: opts.Logger,
		metrics: m, abort: abort, queue: make(chan *event, opts.QueueSize), done: make(chan struct{})}
}

// start runs the senders; done closes when every one has returned.
func (s *eventSender) start() {
	var wg sync.WaitGroup
	for range s.senders {
		wg.Go(s.run)
	}
	go func() { wg.Wait(); close(s.done) }()
}

// add queues rec (line is its JSON) without waiting: a full queue, in
// events or in bytes, drops it. Only the encoder calls it.
func (s *eventSender) add(rec *Record, line []byte) {
	id := strconv.FormatUint(s.seq.Add(1), 10)
	if rec.RequestID != "" {
		id = rec.RequestID + "-" + id
	}
	e := &event{id: id, rec: rec, subject: rec.Model + "/" + strconv.FormatInt(rec.Version, 10), body: line}
	size := int64(len(line))
	if s.queuedBytes.Add(size) > s.maxBytes {
		s.queuedBytes.Add(-size)
		s.metrics.event(outcomeQueueFull)
		return
	}
	select {
	case s.queue <- e:
	default:
		s.queuedBytes.Add(-size)
		s.metrics.event(outcomeQueueFull)
	}
}

// finish says no more events will be added: the senders send what is
// queued and return.
func (s *eventSender) finish() { close(s.queue) }

// run is one sender goroutine.
func (s *eventSender) run() {
	for e := range s.queue {
		s.queuedBytes.Add(-int64(len(e.body)))
		if s.abort.Err() != nil { // Close's deadline passed: count the rest, quickly
			s.metrics.event(outcomeQueueFull)
			s.lost.Add(1)
			continue
		}
		s.deliver(e)
	}
}

// deliver POSTs e until the sink takes it, refuses it, or the tries (or
// Close's deadline) run out.
func (s *eventSender) deliver(e *event) {
	backoff := s.retryMin
	for try := 1; ; try++ {
		status, detail, err := s.post(e)
		switch {
		case err == nil && status >= 200 && status < 300:
			s.metrics.event(outcomeSent)
			if s.failing.CompareAndSwap(true, false) {
				s.logger.Info("prediction log sink answers again", "url", s.redacted)
			}
			return
		case err == nil && status >= 400 && status < 500 && status != http.StatusTooManyRequests:
			s.metrics.event(outcomeSinkError)
			s.warn("prediction log sink refused an event: dropping it", e, status, detail)
			return
		}
		if err != nil {
			detail = err.Error()
		}
		s.warn("prediction log sink fails: retrying, then dropping events", e, status, detail)
		if try >= s.tries || s.abort.Err() != nil {
			s.giveUp()
			return
		}
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
			backoff = min(2*backoff, s.retryMax)
		case <-s.abort.Done():
			timer.Stop()
			s.giveUp()
			return
		}
	}
}

// giveUp drops an event the sink did not take, counting it as lost when
// Close's deadline cut its tries short.
func (s *eventSender) giveUp() {
	s.metrics.event(outcomeSinkError)
	if s.abort.Err() != nil {
		s.lost.Add(1)
	}
}

// warn logs the first problem of an outage (or of a run of refusals).
func (s *eventSender) warn(msg string, e *event, status int, detail string) {
	if s.failing.CompareAndSwap(false, true) {
		s.logger.Warn(msg, "url", s.redacted, "event", e.id, "status", status, "error", detail, "tries", s.tries)
	}
}

// post sends e once and returns the status (and the start of the body of
// a non-2xx answer, for the log), or the error of a POST that got none.
func (s *eventSender) post(e *event) (int, string, error) {
	req, err := http.NewRequestWithContext(s.abort, http.MethodPost, s.url, bytes.NewReader(e.body))
	if err != nil {
		return 0, "", err
	}
	h := req.Header
	h.Set("Content-Type", "application/json") // the event's datacontenttype
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", headerValue(e.id))
	h.Set("Ce-Source", headerValue(s.source))
	h.Set("Ce-Type", EventType)
	h.Set("Ce-Time", e.rec.Time)
	h.Set("Ce-Subject", headerValue(e.subject))
	h.Set("Ce-Model", headerValue(e.rec.Model))
	h.Set("Ce-Modelversion", strconv.FormatInt(e.rec.Version, 10))
	h.Set("Ce-Endpoint", headerValue(e.rec.Endpoint))
	h.Set("Ce-Requestid", headerValue(e.rec.RequestID))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var detail string
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		detail = strings.TrimSpace(string(b))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, detail, nil
}

// headerValue percent-encodes what the CloudEvents HTTP binding says a
// ce-* header must not carry as it is: space, '"', '%' and anything
// outside printable ASCII (each UTF-8 byte).
func headerValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '"' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
