package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/servingtest"

	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/testmodel"
)

// TestPredictionLog serves the real fixture with the prediction log on:
// each request's record carries its X-Request-Id, endpoint and Keras's
// top class, and shutdown writes the file.
func TestPredictionLog(t *testing.T) {
	dir := testmodel.Dir(t)
	exp := testmodel.Load(t, dir)
	logDir := t.TempDir()
	base, stop := start(t, testConfig(t, dir, "--prediction-log-uri=file://"+logDir, "--prediction-log-top-k=1",
		"--prediction-log-flush-interval=1h"), &servingtest.SyncBuffer{})
	waitFor(t, "readiness", func() bool { s, _ := get(t, base+"/v2/health/ready"); return s == 200 })

	img := testmodel.Image(t, dir, "image1.jpg")
	ids := map[string]string{} // request id -> endpoint
	send := func(path, contentType, body, id string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		ids[resp.Header.Get("X-Request-Id")] = path
	}
	send("/v1/models/imgclf:classify-image", "image/jpeg", string(img), "")
	send("/v1/models/imgclf:predict", "application/json", `{"instances":[{"b64":"`+base64.StdEncoding.EncodeToString(img)+`"}]}`, "caller-id-1")
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	date := time.Now().UTC().Format("2006-01-02")
	paths, _ := filepath.Glob(filepath.Join(logDir, "imgclf", "1", "date="+date, "predictions-*.jsonl.gz"))
	if len(paths) != 1 {
		t.Fatalf("log files %v, want one under imgclf/1/date=%s", paths, date)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want := exp.Images["image1.jpg"]
	n := 0
	for sc := bufio.NewScanner(gz); sc.Scan(); n++ {
		var r predlog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		path, ok := ids[r.RequestID]
		wantEndpoint := map[string]string{"/v1/models/imgclf:classify-image": "classify-image", "/v1/models/imgclf:predict": "predict"}[path]
		if !ok || r.Endpoint != wantEndpoint || r.Model != "imgclf" || r.Version != 1 || len(r.Instances) != 1 {
			t.Fatalf("record %+v; requests were %v", r, ids)
		}
		top := r.Instances[0].TopK
		if len(top) != 1 || top[0].Label != want.Label || top[0].Index != int(want.ClassID) ||
			math.Abs(float64(top[0].Score)-want.Probabilities[want.ClassID]) > 1e-5 {
			t.Errorf("top_k %+v, Keras says %s %v", top, want.Label, want.Probabilities[want.ClassID])
		}
		if in := r.Instances[0].Input; in == nil || in.Format != "jpeg" || in.SHA256 == "" || in.Bytes != nil || in.Brightness == nil {
			t.Errorf("input %+v", in)
		}
	}
	if n != 2 {
		t.Errorf("%d records, want one per request", n)
	}
}

// TestPredictionLogEvents serves the fixture with only --prediction-log-url:
// each request becomes one CloudEvent at the sink, sent by shutdown at the
// latest, whose body is the record.
func TestPredictionLogEvents(t *testing.T) {
	dir := testmodel.Dir(t)
	exp := testmodel.Load(t, dir)
	var mu sync.Mutex
	events := map[string][]byte{} // ce-requestid -> body
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Ce-Specversion") != "1.0" || r.Header.Get("Ce-Type") != predlog.EventType {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		events[r.Header.Get("Ce-Requestid")] = body
		mu.Unlock()
	}))
	defer sink.Close()
	base, stop := start(t, testConfig(t, dir, "--prediction-log-url="+sink.URL, "--prediction-log-top-k=1"), &servingtest.SyncBuffer{})
	waitFor(t, "readiness", func() bool { s, _ := get(t, base+"/v2/health/ready"); return s == 200 })

	var ids []string
	for range 3 {
		resp, err := http.Post(base+"/v1/models/imgclf:classify-image", "image/jpeg",
			bytes.NewReader(testmodel.Image(t, dir, "image1.jpg")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("classify-image: %d", resp.StatusCode)
		}
		ids = append(ids, resp.Header.Get("X-Request-Id"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := exp.Images["image1.jpg"]
	for _, id := range ids {
		var r predlog.Record
		if err := json.Unmarshal(events[id], &r); err != nil {
			t.Fatalf("event for request %s: %q: %v", id, events[id], err)
		}
		if r.RequestID != id || r.Endpoint != "classify-image" || len(r.Instances) != 1 ||
			len(r.Instances[0].TopK) != 1 || r.Instances[0].TopK[0].Label != want.Label {
			t.Errorf("event data %+v for request %s; Keras says %s", r, id, want.Label)
		}
	}
	if len(events) != len(ids) {
		t.Errorf("%d events for %d requests", len(events), len(ids))
	}
}
