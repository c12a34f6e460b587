package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestHealth(t *testing.T) {
	reg := registry.New()
	s, url := servertest.Start(t, nil, server.Options{Registry: reg})
	check := func(path string, wantStatus int, want string) {
		t.Helper()
		if status, body, _ := servertest.Do(t, http.MethodGet, url+path, ""); status != wantStatus || body != want {
			t.Errorf("GET %s = %d %s, want %d %s", path, status, body, wantStatus, want)
		}
	}
	check("/v2/health/live", 200, `{"live":true}`)
	check("/v2/health/ready", 503, `{"error":"no model version is AVAILABLE yet"}`)
	reg.Set("imgclf", 1, registry.StateLoading, nil, nil)
	check("/v2/health/ready", 503, `{"error":"no AVAILABLE version yet of model imgclf"}`)
	check("/v1/models/imgclf:predict", 405, `{"error":"GET /v1/models/imgclf:predict is not allowed; use POST"}`)
	reg.Set("imgclf", 1, registry.StateAvailable, servingtest.NewImageModel(), nil)
	check("/v2/health/ready", 200, `{"ready":true}`)
	s.Drain()
	check("/v2/health/ready", 503, `{"error":"shutting down"}`)
	check("/v2/health/live", 200, `{"live":true}`)
	if status, _, _ := servertest.Do(t, http.MethodPost, url+"/v2/health/live", ""); status != 405 {
		t.Errorf("POST live = %d, want 405", status)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	var logs bytes.Buffer
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	req, _ := http.NewRequest(http.MethodGet, url+"/v1/models/imgclf/versions/1", nil)
	req.Header.Set(server.RequestIDHeader, "abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(server.RequestIDHeader); got != "abc-123" {
		t.Errorf("echoed request id = %q", got)
	}
	_, _, hdr := servertest.Do(t, http.MethodPost, url+"/v1/models/imgclf:predict", `{`)
	generated := hdr.Get(server.RequestIDHeader)
	if len(generated) != 32 {
		t.Errorf("generated request id = %q", generated)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %q", logs.String())
	}
	wants := []map[string]any{
		{"msg": "request", "method": "GET", "path": "/v1/models/imgclf/versions/1", "status": 200.0, "request_id": "abc-123", "model": "imgclf", "version": "1"},
		{"msg": "request", "method": "POST", "status": 400.0, "request_id": generated, "model": "imgclf", "version": "1", "error": "invalid JSON body: unexpected EOF"},
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatal(err)
		}
		if _, ok := got["duration_ms"].(float64); !ok {
			t.Errorf("line %d has no duration: %s", i, line)
		}
		for k, v := range wants[i] {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
	}
}

// TestDrainClosesConnections: once draining, a keep-alive connection is
// closed after its next response, so the client's next request goes out on
// a new connection (to another replica, behind a Service).
func TestDrainClosesConnections(t *testing.T) {
	s, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{})
	client := &http.Client{Transport: &http.Transport{}}
	// get reports whether the request reused a connection and whether the
	// server asked to close it.
	get := func() (reused, closed bool) {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url+"/v2/health/live", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return reused, resp.Close
	}
	get()
	if reused, closed := get(); !reused || closed {
		t.Fatalf("before draining: reused=%v closed=%v, want a kept-alive connection", reused, closed)
	}
	s.Drain()
	if _, closed := get(); !closed {
		t.Error("while draining the response did not close its connection")
	}
	if reused, _ := get(); reused {
		t.Error("the request after a draining response reused the old connection")
	}
}

// TestEndpointLabels: the request metrics name model endpoints by kind, a
// few fixed paths by path, and everything else "other", so clients cannot
// mint label values.
func TestEndpointLabels(t *testing.T) {
	obs := &recordingObserver{}
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{Observer: obs, Metrics: http.NotFoundHandler()})
	for _, path := range []string{"/v2", "/v2/health/live", "/v2/health/ready", "/metrics", "/v2/models/imgclf/ready", "/v1/models/imgclf", "/nope/123"} {
		servertest.Do(t, http.MethodGet, url+path, "")
	}
	servertest.Do(t, http.MethodPost, url+"/v2/repository/index", "")
	for _, want := range []string{"  /v2 200", "  /v2/health/live 200", "  /v2/health/ready 200", "  /metrics 404",
		"imgclf 1 v2_ready 200", "imgclf  status 200", "  other 404", "  repository_index 200"} {
		if !obs.has(want) {
			t.Errorf("no request observed as %q: %q", want, obs.seen)
		}
	}
}
