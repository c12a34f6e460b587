package predlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"image/color"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/servingtest"

	"github.com/prometheus/client_golang/prometheus"
)

// sink is an httptest CloudEvents receiver that answers each POST with the
// next of statuses (then 200), keeping what it got.
type sink struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received // every POST, answered or not
}

type received struct {
	method string
	header http.Header
	body   []byte
	status int
}

func newSink(t *testing.T, statuses ...int) *sink {
	t.Helper()
	s := &sink{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.got = append(s.got, received{r.Method, r.Header.Clone(), body, status})
		s.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// eventOptions logs to dir (when not "") and to s, with fast retries.
func eventOptions(t *testing.T, dir string, s *sink) (Options, *prometheus.Registry) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts, reg := testOptions(t, dir)
	opts.EventURL = s.URL + "/events"
	return opts, reg
}

// rawLines reads every line the files under dir hold, as written.
func rawLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*", "date=*", "*.jsonl.gz"))
	var lines [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(gz)
		lines = append(lines, bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))...)
	}
	return lines
}

// TestEventHeadersAndBody: each record is one CloudEvent in HTTP binary
// content mode whose body is the record's line in the files, byte for byte.
func TestEventHeadersAndBody(t *testing.T) {
	s := newSink(t)
	dir := t.TempDir()
	opts, reg := eventOptions(t, dir, s)
	l := start(t, opts)
	m := l.Wrap(&classifier{rows: [][]float32{{0.1, 0.9}}}, "faces", 3, []string{"other", "face"})
	img := solidPNG(t, 4, 4, color.White)
	predict(t, m, requestCtx("req-1", "classify_image"), img)
	predict(t, m, requestCtx(`odd "id" 100%`, "predict"), img)
	closeLog(t, l)

	lines := map[string][]byte{} // request id -> the file's line
	for _, line := range rawLines(t, dir) {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		lines[r.RequestID] = line
	}
	got := s.received()
	if len(got) != 2 || len(lines) != 2 {
		t.Fatalf("%d events and %d lines, want 2 of each", len(got), len(lines))
	}
	ids := map[string]bool{}
	for _, e := range got {
		var r Record
		if err := json.Unmarshal(e.body, &r); err != nil {
			t.Fatalf("body %q: %v", e.body, err)
		}
		if !bytes.Equal(e.body, lines[r.RequestID]) {
			t.Errorf("event body\n%s\nis not the file's line\n%s", e.body, lines[r.RequestID])
		}
		wantID := map[string]string{"req-1": "req-1", `odd "id" 100%`: "odd%20%22id%22%20100%25"}[r.RequestID]
		endpoint := map[string]string{"req-1": "classify-image", `odd "id" 100%`: "predict"}[r.RequestID]
		want := map[string]string{
			"Content-Type":    "application/json",
			"Ce-Specversion":  "1.0",
			"Ce-Source":       "imgclf-predictor/testhost",
			"Ce-Type":         "org.imgclf.prediction",
			"Ce-Time":         r.Time,
			"Ce-Subject":      "faces/3",
			"Ce-Model":        "faces",
			"Ce-Modelversion": "3",
			"Ce-Endpoint":     endpoint,
			"Ce-Requestid":    wantID, // percent-encoded as the HTTP binding says
		}
		for k, v := range want {
			if e.header.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, e.header.Get(k), v)
			}
		}
		id := e.header.Get("Ce-Id")
		if e.method != http.MethodPost || !strings.HasPrefix(id, wantID+"-") || ids[id] {
			t.Errorf("%s with ce-id %q; want a POST with a unique id after the request id", e.method, id)
		}
		ids[id] = true
	}
	if got := counter(t, reg, "predictor_prediction_log_events_total", "sent"); got != 2 {
		t.Errorf("events sent = %v, want 2", got)
	}
}

// TestEventRetries: connection-level trouble, 5xx and 429 are retried
// with backoff; 4xx is dropped at once; the tries are bounded.
func TestEventRetries(t *testing.T) {
	for _, tt := range []struct {
		name           string
		statuses       []int
		posts          int
		sent, dropped  float64
		warned, healed bool
	}{
		{"503 twice", []int{503, 503}, 3, 1, 0, true, true},
		{"429", []int{429}, 2, 1, 0, true, true},
		{"400 refused", []int{400}, 1, 0, 1, true, false},
		{"500 every time", []int{500, 500, 500, 500}, 3, 0, 1, true, false},
		{"200", nil, 1, 1, 0, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t, tt.statuses...)
			opts, reg := eventOptions(t, "", s)
			opts.Store = nil // events only
			opts.EventTries = 3
			var logs servingtest.SyncBuffer
			opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			l := start(t, opts)
			predict(t, l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil), requestCtx("r", "predict"),
				solidPNG(t, 2, 2, color.White))
			closeLog(t, l)
			got := s.received()
			if len(got) != tt.posts {
				t.Errorf("%d POSTs, want %d", len(got), tt.posts)
			}
			for _, e := range got[1:] {
				if e.header.Get("Ce-Id") != got[0].header.Get("Ce-Id") || !bytes.Equal(e.body, got[0].body) {
					t.Errorf("a retry is not the same event: %v", e.header)
				}
			}
			if c := counter(t, reg, "predictor_prediction_log_events_total", "sent"); c != tt.sent {
				t.Errorf("sent = %v, want %v", c, tt.sent)
			}
			if c := counter(t, reg, "predictor_prediction_log_events_total", "dropped_sink_error"); c != tt.dropped {
				t.Errorf("dropped_sink_error = %v, want %v", c, tt.dropped)
			}
			if c := counter(t, reg, "predictor_prediction_log_records_total", "written"); c != 0 {
				t.Errorf("records written = %v without a store", c)
			}
			if warned := strings.Count(logs.String(), `"level":"WARN"`); warned != map[bool]int{true: 1}[tt.warned] {
				t.Errorf("%d warnings, want one per outage:\n%s", warned, logs.String())
			}
			if healed := strings.Contains(logs.String(), "sink answers again"); healed != tt.healed {
				t.Errorf("recovery logged: %v, want %v:\n%s", healed, tt.healed, logs.String())
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		s := newSink(t)
		opts, reg := eventOptions(t, "", s)
		s.Close() // nothing listens there now
		opts.Store, opts.EventTries = nil, 2
		l := start(t, opts)
		predict(t, l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil), context.Background(), solidPNG(t, 2, 2, color.White))
		closeLog(t, l)
		if c := counter(t, reg, "predictor_prediction_log_events_total", "dropped_sink_error"); c != 1 {
			t.Errorf("dropped_sink_error = %v, want 1", c)
		}
	})
}

// TestEventSinkHangs: a sink that never answers fills the event queue;
// Predict does not wait, the overflow is dropped and counted, and Close
// gives up at its deadline, counting the rest.
func TestEventSinkHangs(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) }) // before hang.Close, which waits for its handlers
	opts, reg := testOptions(t, t.TempDir())
	opts.Store = nil
	opts.EventURL = hang.URL
	opts.EventSenders = 1
	opts.QueueSize = 2
	opts.EventTimeout = time.Minute
	l := start(t, opts)
	m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
	img := solidPNG(t, 2, 2, color.White)
	const n = 20
	began := time.Now()
	for range n {
		predict(t, m, context.Background(), img)
		time.Sleep(time.Millisecond) // lets the encoder keep up, so drops are the event queue's
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("%d requests took %v with a hanging sink", n, d)
	}
	waitFor(t, "the event queue to overflow", func() bool {
		return counter(t, reg, "predictor_prediction_log_events_total", "dropped_queue_full") >= n-1-2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began = time.Now()
	err := l.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "events not sent to "+hang.URL+" before the shutdown deadline") {
		t.Errorf("Close() = %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Close took %v with a 200ms deadline", d)
	}
	sent := counter(t, reg, "predictor_prediction_log_events_total", "sent")
	dropped := counter(t, reg, "predictor_prediction_log_events_total", "dropped_queue_full") +
		counter(t, reg, "predictor_prediction_log_events_total", "dropped_sink_error")
	if sent != 0 || dropped != n {
		t.Errorf("sent %v, dropped %v; want 0 and every one of %d", sent, dropped, n)
	}
}

// TestEventsSentOnClose: what waits in the event queue at Close is sent
// before Close returns.
func TestEventsSentOnClose(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		ids = append(ids, r.Header.Get("Ce-Requestid"))
		mu.Unlock()
	}))
	t.Cleanup(slow.Close)
	opts, reg := testOptions(t, t.TempDir())
	opts.Store = nil
	opts.EventURL = slow.URL
	opts.EventSenders = 1
	l := start(t, opts)
	m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
	img := solidPNG(t, 2, 2, color.White)
	const n = 30
	for i := range n {
		predict(t, m, requestCtx(strings.Repeat("x", i+1), "predict"), img)
	}
	closeLog(t, l)
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != n {
		t.Errorf("%d events received by Close's return, want %d", len(ids), n)
	}
	if c := counter(t, reg, "predictor_prediction_log_events_total", "sent"); c != n {
		t.Errorf("sent = %v, want %d", c, n)
	}
}

func TestEventURLAndOptions(t *testing.T) {
	for _, u := range []string{"http://sink/events", "https://broker.example:8443/ns/default"} {
		if err := CheckEventURL(u); err != nil {
			t.Errorf("CheckEventURL(%q) = %v", u, err)
		}
	}
	for _, u := range []string{"ftp://sink/", "sink:8080", "http://", "/events", "http//sink"} {
		if err := CheckEventURL(u); err == nil {
			t.Errorf("CheckEventURL(%q) accepted it", u)
		}
	}
	if _, err := New(Options{SampleRate: 1}); err == nil {
		t.Error("a log with neither a store nor an event URL started")
	}
	if _, err := New(Options{EventURL: "gs://bucket/x", SampleRate: 1}); err == nil {
		t.Error("a gs:// event URL accepted")
	}
}
