package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/testmodel"
)

// TestEndToEnd runs the predictor against the real SavedModel fixture:
// discovery, TensorFlow, HTTP and shutdown together.
func TestEndToEnd(t *testing.T) {
	dir := testmodel.Dir(t)
	exp := testmodel.Load(t, dir)
	var logs bytes.Buffer
	cfg := Config{ListenAddr: "127.0.0.1:0", ModelBasePath: dir, ModelName: "imgclf", SignatureName: "serving_default",
		MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), func(a string) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	if resp := get(t, base+"/v2/health/ready"); resp != `{"ready":true}` {
		t.Errorf("ready = %s", resp)
	}
	if resp := get(t, base+"/v1/models/imgclf"); resp != `{"model_version_status":[{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}` {
		t.Errorf("status = %s", resp)
	}

	// One row-format request with every fixture image.
	var names []string
	for n := range exp.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	var instances []map[string]string
	for _, n := range names {
		instances = append(instances, map[string]string{"b64": base64.StdEncoding.EncodeToString(testmodel.Image(t, dir, n))})
	}
	body, _ := json.Marshal(map[string]any{"instances": instances})
	status, resp := post(t, base+"/v1/models/imgclf:predict", body)
	if status != 200 {
		t.Fatalf("predict = %d %s", status, resp)
	}
	var got struct {
		Predictions []struct {
			Probabilities []float64 `json:"probabilities"`
			ClassID       int64     `json:"class_id"`
			Label         string    `json:"label"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(resp), &got); err != nil || len(got.Predictions) != len(names) {
		t.Fatalf("predict reply %s: %v", resp, err)
	}
	for i, n := range names {
		want, p := exp.Images[n], got.Predictions[i]
		for j := range want.Probabilities {
			if j >= len(p.Probabilities) || math.Abs(p.Probabilities[j]-want.Probabilities[j]) > 1e-5 {
				t.Errorf("%s: probabilities = %v, Keras says %v", n, p.Probabilities, want.Probabilities)
				break
			}
		}
		if p.ClassID != want.ClassID || p.Label != want.Label {
			t.Errorf("%s: got class %d %q, want %d %q", n, p.ClassID, p.Label, want.ClassID, want.Label)
		}
	}

	// A PNG signature followed by garbage passes the sniff; TensorFlow's
	// INVALID_ARGUMENT must still come back as a 400.
	bad := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nnot really a png"))
	status, resp = post(t, base+"/v1/models/imgclf:predict", []byte(`{"instances":[{"b64":"`+bad+`"}]}`))
	if status != 400 || !strings.Contains(resp, `"error"`) {
		t.Errorf("corrupt PNG = %d %s, want 400", status, resp)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v after shutdown", err)
	}
	for _, want := range []string{`"msg":"serving"`, `"inputs":["image_bytes:DT_STRING[-1]"]`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

func TestRunWithoutCompleteVersion(t *testing.T) {
	base := t.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "1"), 0o755); err != nil { // no saved_model.pb, no marker
		t.Fatal(err)
	}
	cfg := Config{ListenAddr: "127.0.0.1:0", ModelBasePath: base, ModelName: "m", ShutdownTimeout: time.Second, MaxBodyBytes: 1}
	err := run(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "no complete model version in "+base) {
		t.Errorf("run() = %v, want an error naming %s", err, base)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
