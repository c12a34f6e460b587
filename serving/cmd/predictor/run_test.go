package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/servingtest"

	"github.com/imgclf/serving/internal/lifecycle"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/storage"
	"github.com/imgclf/serving/internal/testmodel"
)

// testConfig serves base as "imgclf", parsed like the command line.
func testConfig(t *testing.T, base string, extra ...string) Config {
	t.Helper()
	args := append([]string{"--model-base-path=" + base, "--model-name=imgclf", "--listen-addr=127.0.0.1:0", "--grpc-listen-addr=127.0.0.1:0",
		"--poll-interval=50ms", "--max-body-bytes=1048576", "--shutdown-timeout=5s"}, extra...)
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start runs the predictor until the test ends and returns its URL.
func start(t *testing.T, cfg Config, logs io.Writer) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)), func(a string) { addrc <- a }) }()
	var stopped bool
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	select {
	case a := <-addrc:
		return "http://" + a, stop
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return "", nil
}

// waitFor polls cond for up to 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// versionDir makes base/<n> a link to the fixture's version 1.
func versionDir(t *testing.T, fixture, base string, n int) {
	t.Helper()
	if err := os.Symlink(filepath.Join(fixture, "1"), filepath.Join(base, strconv.Itoa(n))); err != nil {
		t.Fatal(err)
	}
}

func closeTo(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-5 {
			return false
		}
	}
	return true
}

// TestEndToEnd runs the predictor against the real SavedModel fixture:
// discovery, TensorFlow, every API, metrics and shutdown together.
func TestEndToEnd(t *testing.T) {
	dir := testmodel.Dir(t)
	exp := testmodel.Load(t, dir)
	var logs servingtest.SyncBuffer
	base, stop := start(t, testConfig(t, dir, "--batching", "--max-batch-size=8"), &logs)
	waitFor(t, "readiness", func() bool { s, _ := get(t, base+"/v2/health/ready"); return s == 200 })

	if _, resp := get(t, base+"/v1/models/imgclf"); resp != `{"model_version_status":[{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}` {
		t.Errorf("status = %s", resp)
	}
	var names []string
	for n := range exp.Images {
		names = append(names, n)
	}
	sort.Strings(names)

	t.Run("predict", func(t *testing.T) {
		var instances []map[string]string
		for _, n := range names {
			instances = append(instances, map[string]string{"b64": base64.StdEncoding.EncodeToString(testmodel.Image(t, dir, n))})
		}
		body, _ := json.Marshal(map[string]any{"instances": instances})
		status, resp := post(t, base+"/v1/models/imgclf:predict", "application/json", body)
		var got struct {
			Predictions []struct {
				Probabilities []float64 `json:"probabilities"`
				ClassID       int64     `json:"class_id"`
				Label         string    `json:"label"`
			} `json:"predictions"`
		}
		if err := json.Unmarshal([]byte(resp), &got); status != 200 || err != nil || len(got.Predictions) != len(names) {
			t.Fatalf("predict = %d %s", status, resp)
		}
		for i, n := range names {
			want, p := exp.Images[n], got.Predictions[i]
			if !closeTo(p.Probabilities, want.Probabilities) || p.ClassID != want.ClassID || p.Label != want.Label {
				t.Errorf("%s: got %v %d %q, Keras says %v %d %q", n, p.Probabilities, p.ClassID, p.Label, want.Probabilities, want.ClassID, want.Label)
			}
		}
	})

	t.Run("v2 infer JSON", func(t *testing.T) {
		var data []string
		for _, n := range names {
			data = append(data, base64.StdEncoding.EncodeToString(testmodel.Image(t, dir, n)))
		}
		body, _ := json.Marshal(map[string]any{"id": "r1", "inputs": []any{map[string]any{
			"name": "image_bytes", "datatype": "BYTES", "shape": []int{len(data)}, "data": data}}})
		status, resp := post(t, base+"/v2/models/imgclf/infer", "application/json", body)
		var got struct {
			ModelVersion string `json:"model_version"`
			ID           string `json:"id"`
			Outputs      []struct {
				Name     string          `json:"name"`
				Datatype string          `json:"datatype"`
				Shape    []int           `json:"shape"`
				Data     json.RawMessage `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(resp), &got); status != 200 || err != nil || got.ID != "r1" || got.ModelVersion != "1" {
			t.Fatalf("infer = %d %s", status, resp)
		}
		for _, o := range got.Outputs {
			if o.Name != "probabilities" {
				continue
			}
			var flat []float64
			json.Unmarshal(o.Data, &flat)
			if o.Datatype != "FP32" || fmt.Sprint(o.Shape) != fmt.Sprintf("[%d 3]", len(names)) {
				t.Errorf("probabilities: %s %v", o.Datatype, o.Shape)
			}
			for i, n := range names {
				if !closeTo(flat[3*i:3*i+3], exp.Images[n].Probabilities) {
					t.Errorf("%s: v2 probabilities %v, Keras says %v", n, flat[3*i:3*i+3], exp.Images[n].Probabilities)
				}
			}
			return
		}
		t.Errorf("no probabilities output in %s", resp)
	})

	t.Run("v2 infer from tritonclient (binary)", func(t *testing.T) {
		body, err := os.ReadFile(filepath.Join("..", "..", "internal", "protocol", "kservev2", "testdata", "v2clients", "tritonclient_binary.bin"))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", base+"/v2/models/imgclf/infer", bytes.NewReader(body))
		req.Header.Set("Inference-Header-Content-Length", "146")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		n, _ := strconv.Atoi(resp.Header.Get("Inference-Header-Content-Length"))
		if resp.StatusCode != 200 || n == 0 || n > len(b) {
			t.Fatalf("infer = %d, header length %q: %s", resp.StatusCode, resp.Header.Get("Inference-Header-Content-Length"), b)
		}
		var header struct {
			Outputs []struct {
				Name       string `json:"name"`
				Parameters struct {
					Size int `json:"binary_data_size"`
				} `json:"parameters"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(b[:n], &header); err != nil {
			t.Fatal(err)
		}
		off, checked := n, false
		for _, o := range header.Outputs {
			if o.Name == "probabilities" {
				checked = true
				var got []float64
				for i := 0; i < o.Parameters.Size; i += 4 {
					bits := uint32(b[off+i]) | uint32(b[off+i+1])<<8 | uint32(b[off+i+2])<<16 | uint32(b[off+i+3])<<24
					got = append(got, float64(math.Float32frombits(bits)))
				}
				if !closeTo(got, exp.Images["image0.png"].Probabilities) {
					t.Errorf("binary probabilities %v, Keras says %v", got, exp.Images["image0.png"].Probabilities)
				}
			}
			off += o.Parameters.Size
		}
		if !checked {
			t.Errorf("no probabilities output in %s", b[:n])
		}
		if off != len(b) {
			t.Errorf("binary outputs take %d bytes, the body has %d", off-n, len(b)-n)
		}
	})

	t.Run("classify-image", func(t *testing.T) {
		img := testmodel.Image(t, dir, "image1.jpg")
		status, resp := post(t, base+"/v1/models/imgclf:classify-image?k=2", "image/jpeg", img)
		want := exp.Images["image1.jpg"]
		var got struct {
			Results []struct {
				Filename    string `json:"filename"`
				Predictions []struct {
					Label string  `json:"label"`
					Score float64 `json:"score"`
				} `json:"predictions"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(resp), &got); status != 200 || err != nil || len(got.Results) != 1 || len(got.Results[0].Predictions) != 2 {
			t.Fatalf("classify-image = %d %s", status, resp)
		}
		if top := got.Results[0].Predictions[0]; top.Label != want.Label || math.Abs(top.Score-want.Probabilities[want.ClassID]) > 1e-5 {
			t.Errorf("top class %+v, Keras says %s %v", top, want.Label, want.Probabilities[want.ClassID])
		}

		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, n := range []string{"image0.png", "image2.png"} {
			fw, _ := mw.CreateFormFile("image", n)
			fw.Write(testmodel.Image(t, dir, n))
		}
		mw.Close()
		status, resp = post(t, base+"/v1/models/imgclf:classify-image", mw.FormDataContentType(), buf.Bytes())
		if err := json.Unmarshal([]byte(resp), &got); status != 200 || err != nil || len(got.Results) != 2 ||
			got.Results[1].Filename != "image2.png" || got.Results[1].Predictions[0].Label != exp.Images["image2.png"].Label {
			t.Errorf("multipart classify-image = %d %s", status, resp)
		}

		status, resp = post(t, base+"/v1/models/imgclf:classify-image", "image/jpeg", img[:len(img)/2])
		if status != 400 || !strings.Contains(resp, "truncated") {
			t.Errorf("truncated JPEG = %d %s, want 400", status, resp)
		}
	})

	t.Run("classify", func(t *testing.T) {
		img := base64.StdEncoding.EncodeToString(testmodel.Image(t, dir, "image2.png"))
		status, resp := post(t, base+"/v1/models/imgclf:classify", "application/json", []byte(`{"examples":[{"image_bytes":{"b64":"`+img+`"}}]}`))
		if status != 200 || !strings.HasPrefix(resp, `{"results":[[["`+exp.Images["image2.png"].Label+`",`) {
			t.Errorf("classify = %d %s", status, resp)
		}
	})

	// A PNG signature followed by garbage fails the header check before
	// TensorFlow sees it.
	bad := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nnot really a png"))
	if status, resp := post(t, base+"/v1/models/imgclf:predict", "application/json", []byte(`{"instances":[{"b64":"`+bad+`"}]}`)); status != 400 || !strings.Contains(resp, `"error"`) {
		t.Errorf("corrupt PNG = %d %s, want 400", status, resp)
	}

	if _, m := get(t, base+"/metrics"); !strings.Contains(m, `predictor_requests_total{code="200",endpoint="predict",model="imgclf",version="1"}`) ||
		!strings.Contains(m, `predictor_model_loaded_version{model="imgclf"} 1`) || !strings.Contains(m, "predictor_batch_size_bucket") ||
		!strings.Contains(m, "go_goroutines") || !strings.Contains(m, `predictor_model_load_duration_seconds_count{model="imgclf",outcome="success"} 1`) {
		t.Errorf("/metrics lacks expected series:\n%s", m)
	}

	if err := stop(); err != nil {
		t.Fatalf("run returned %v after shutdown", err)
	}
	for _, want := range []string{`"msg":"serving"`, `"inputs":["image_bytes:DT_STRING[-1]"]`, `"warmup_requests":1`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

// TestVersionsArePickedUp publishes versions while serving: an empty base
// path is waited for (not ready), a new version replaces the old one, and a
// corrupt version is reported while the previous one keeps serving.
func TestVersionsArePickedUp(t *testing.T) {
	fixture := testmodel.Dir(t)
	base := t.TempDir()
	url, _ := start(t, testConfig(t, base), io.Discard)
	if s, resp := get(t, url+"/v2/health/ready"); s != 503 || !strings.Contains(resp, "imgclf") {
		t.Errorf("ready with no version = %d %s", s, resp)
	}
	versionDir(t, fixture, base, 1)
	waitFor(t, "version 1", func() bool { s, _ := get(t, url+"/v2/health/ready"); return s == 200 })

	// Version 2: a copy whose variables were cut short after publishing.
	corrupt := filepath.Join(base, "2")
	copyDir(t, filepath.Join(fixture, "1"), corrupt)
	if err := os.Truncate(filepath.Join(corrupt, "variables", "variables.data-00000-of-00001"), 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "version 2 to fail", func() bool {
		_, resp := get(t, url+"/v1/models/imgclf/versions/2")
		return strings.Contains(resp, `"state":"END"`) && strings.Contains(resp, "marker says")
	})
	if _, resp := get(t, url+"/v1/models/imgclf/metadata"); !strings.Contains(resp, `"version":"1"`) {
		t.Errorf("metadata while v2 is corrupt = %s, want version 1 serving", resp)
	}

	// Version 3 is another model (other weights): once version 1 is reported
	// END, every answer must name version 3 and be exactly the variant's.
	exp := testmodel.Load(t, fixture)
	if err := os.Symlink(filepath.Join(fixture, "variant", "1"), filepath.Join(base, "3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "version 3 to replace version 1", func() bool {
		_, resp := get(t, url+"/v1/models/imgclf")
		return strings.Contains(resp, `{"version":"3","state":"AVAILABLE"`) && strings.Contains(resp, `{"version":"1","state":"END"`)
	})
	img := base64.StdEncoding.EncodeToString(testmodel.Image(t, fixture, "image0.png"))
	body := `{"inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[1],"data":["` + img + `"]}],"outputs":[{"name":"probabilities"}]}`
	for range 3 {
		status, resp := post(t, url+"/v2/models/imgclf/infer", "application/json", []byte(body))
		var got struct {
			Version string `json:"model_version"`
			Outputs []struct {
				Data []float64 `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(resp), &got); status != 200 || err != nil || len(got.Outputs) != 1 {
			t.Fatalf("infer after the swap = %d %s", status, resp)
		}
		if got.Version != "3" || !closeTo(got.Outputs[0].Data, exp.Variant["image0.png"].Probabilities) {
			t.Errorf("after the swap: version %s answered %v; version 3 (the variant) gives %v, version 1 gives %v",
				got.Version, got.Outputs[0].Data, exp.Variant["image0.png"].Probabilities, exp.Images["image0.png"].Probabilities)
		}
	}
}

func TestRunWithMissingBasePath(t *testing.T) {
	base := filepath.Join(t.TempDir(), "nope")
	err := run(context.Background(), testConfig(t, base), slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), base) {
		t.Errorf("run() = %v, want an error naming %s", err, base)
	}
}

// TestReloadMemory loads 50 versions one after another through the real
// loader and watcher and checks that RSS stays bounded: each unloaded
// version's TensorFlow session must be freed.
func TestReloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("50 TensorFlow loads")
	}
	fixture := testmodel.Dir(t)
	base := t.TempDir()
	cfg := testConfig(t, base)
	reg := registry.New()
	src, err := storage.New(context.Background(), base, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := lifecycle.NewVersionWatcher(lifecycle.Model{Name: "imgclf", Source: src, Policy: cfg.Models[0].Policy},
		lifecycle.Options{Registry: reg, Load: loader(cfg, cfg.Models[0], nil, nil, slog.New(slog.DiscardHandler))})
	var startRSS int64
	const warm, reloads = 5, 50
	for n := 1; n <= warm+reloads; n++ {
		versionDir(t, fixture, base, n)
		if err := w.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := reg.Available("imgclf"); len(got) != 1 || got[0] != int64(n) {
			t.Fatalf("after publishing %d: available %v", n, got)
		}
		if n == warm {
			runtime.GC()
			startRSS = rss(t)
		}
	}
	runtime.GC()
	endRSS := rss(t)
	t.Logf("RSS after %d warm-up loads: %d MB; after %d more reloads: %d MB (%+d MB)",
		warm, startRSS>>20, reloads, endRSS>>20, (endRSS-startRSS)>>20)
	if endRSS > startRSS+200<<20 {
		t.Errorf("RSS grew from %d MB to %d MB over %d reloads", startRSS>>20, endRSS>>20, reloads)
	}
	reg.Close()
}

// rss reads this process's resident set size from /proc.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS line")
	return 0
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
