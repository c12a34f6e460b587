// Package servertest starts the whole HTTP API (package server, every
// protocol and middleware) on loopback for tests that go through it, and
// sends requests to it.
package servertest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
)

// Start serves model as "imgclf" version 1 (labels "other", "png") unless
// opts has a Registry, and returns the server and its URL.
func Start(t *testing.T, model serving.Model, opts server.Options) (*server.Server, string) {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = registry.New()
		opts.Registry.Publish("imgclf", 1, registry.Loaded{Model: model, Labels: []string{"other", "png"}})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := server.New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// Do sends a request and returns status, body and response headers.
func Do(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

// CheckError checks a JSON error reply; want may end in "…" to match a prefix.
func CheckError(t *testing.T, status int, body string, wantStatus int, want string) {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	prefix, isPrefix := strings.CutSuffix(want, "…")
	if status != wantStatus || (isPrefix && !strings.HasPrefix(e.Error, prefix)) || (!isPrefix && e.Error != want) {
		t.Errorf("got %d %q\nwant %d %q", status, e.Error, wantStatus, want)
	}
}
