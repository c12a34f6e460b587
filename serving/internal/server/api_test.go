package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/imgclf/serving"
)

func TestStatusAndMetadata(t *testing.T) {
	reg := NewRegistry()
	reg.Set("imgclf", 1, StateAvailable, newImageModel(), nil)
	reg.Set("imgclf", 2, StateEnd, nil, errors.New("loading failed: no variables"))
	_, url := testServer(t, nil, Options{Registry: reg})

	v1 := `{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}`
	v2 := `{"version":"2","state":"END","status":{"error_code":"UNKNOWN","error_message":"loading failed: no variables"}}`
	meta := `{"model_spec":{"name":"imgclf","signature_name":"","version":"1"},"metadata":{"signature_def":{"signature_def":{"serving_default":{` +
		`"inputs":{"image_bytes":{"dtype":"DT_STRING","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"serving_default_image_bytes:0"}},` +
		`"outputs":{"class_id":{"dtype":"DT_INT64","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"StatefulPartitionedCall:0"},` +
		`"label":{"dtype":"DT_STRING","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"StatefulPartitionedCall:1"},` +
		`"probabilities":{"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":"-1","name":""},{"size":"2","name":""}],"unknown_rank":false},"name":"StatefulPartitionedCall:2"}},` +
		`"method_name":"tensorflow/serving/predict"}}}}}`
	tests := []struct {
		path       string
		wantStatus int
		want       string
	}{
		{"/v1/models/imgclf", 200, `{"model_version_status":[` + v2 + `,` + v1 + `]}`},
		{"/v1/models/imgclf/versions/1", 200, `{"model_version_status":[` + v1 + `]}`},
		{"/v1/models/imgclf/versions/3", 404, `{"error":"model \"imgclf\" has no version 3; it has versions 1, 2"}`},
		{"/v1/models/other", 404, `{"error":"model \"other\" not found; this server has \"imgclf\""}`},
		{"/v1/models/imgclf/metadata", 200, meta},
		{"/v1/models/imgclf/versions/1/metadata", 200, meta},
		{"/v1/models/imgclf/versions/2/metadata", 503, `{"error":"model \"imgclf\" version 2 is END, not AVAILABLE; retry later"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body, _ := do(t, http.MethodGet, url+tt.path, "")
			if status != tt.wantStatus || body != tt.want {
				t.Errorf("got %d %s\nwant %d %s", status, body, tt.wantStatus, tt.want)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	reg := NewRegistry()
	s, url := testServer(t, nil, Options{Registry: reg})
	check := func(path string, wantStatus int, want string) {
		t.Helper()
		if status, body, _ := do(t, http.MethodGet, url+path, ""); status != wantStatus || body != want {
			t.Errorf("GET %s = %d %s, want %d %s", path, status, body, wantStatus, want)
		}
	}
	check("/v2/health/live", 200, `{"live":true}`)
	check("/v2/health/ready", 503, `{"error":"no model version is AVAILABLE yet"}`)
	reg.Set("imgclf", 1, StateLoading, nil, nil)
	check("/v2/health/ready", 503, `{"error":"no AVAILABLE version yet of model imgclf"}`)
	check("/v1/models/imgclf:predict", 405, `{"error":"GET /v1/models/imgclf:predict is not allowed; use POST"}`)
	reg.Set("imgclf", 1, StateAvailable, newImageModel(), nil)
	check("/v2/health/ready", 200, `{"ready":true}`)
	s.Drain()
	check("/v2/health/ready", 503, `{"error":"shutting down"}`)
	check("/v2/health/live", 200, `{"live":true}`)
	if status, _, _ := do(t, http.MethodPost, url+"/v2/health/live", ""); status != 405 {
		t.Errorf("POST live = %d, want 405", status)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	var logs bytes.Buffer
	_, url := testServer(t, newImageModel(), Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	req, _ := http.NewRequest(http.MethodGet, url+"/v1/models/imgclf/versions/1", nil)
	req.Header.Set(RequestIDHeader, "abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(RequestIDHeader); got != "abc-123" {
		t.Errorf("echoed request id = %q", got)
	}
	_, _, hdr := do(t, http.MethodPost, url+"/v1/models/imgclf:predict", `{`)
	generated := hdr.Get(RequestIDHeader)
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

func TestValidRequestID(t *testing.T) {
	tests := map[string]bool{
		"abc-123":                 true,
		"":                        false,
		"has space":               false,
		"new\nline":               false,
		strings.Repeat("a", 128):  true,
		strings.Repeat("a", 129):  false,
		"ünïcode":                 false,
		"0af7651916cd43dd8448eb2": true,
	}
	for id, want := range tests {
		if got := validRequestID(id); got != want {
			t.Errorf("validRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	tests := map[serving.Code]int{
		serving.Invalid:          400,
		serving.NotFound:         404,
		serving.MethodNotAllowed: 405,
		serving.TooLarge:         413,
		serving.Unavailable:      503,
		serving.Timeout:          504,
		serving.Internal:         500,
		"something new":          500,
	}
	for code, want := range tests {
		if got := httpStatus(code); got != want {
			t.Errorf("httpStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

// TestDrainClosesConnections: once draining, a keep-alive connection is
// closed after its next response, so the client's next request goes out on
// a new connection (to another replica, behind a Service).
func TestDrainClosesConnections(t *testing.T) {
	s, url := testServer(t, newImageModel(), Options{})
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
