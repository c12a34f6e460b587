package predlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/storage"
)

// classifier is a model with the exporter's signature (image_bytes in,
// probabilities out) that answers row i of every batch with rows[i %
// len(rows)]; the tests rank those by hand.
type classifier struct {
	rows  [][]float32
	delay time.Duration
}

func (c *classifier) Signature() serving.Signature {
	return serving.Signature{Name: "serving_default",
		Inputs:  map[string]serving.TensorInfo{"image_bytes": {DType: serving.DTString, Shape: []int64{-1}}},
		Outputs: map[string]serving.TensorInfo{"probabilities": {DType: serving.DTFloat, Shape: []int64{-1, int64(len(c.rows[0]))}}}}
}

func (c *classifier) Predict(_ context.Context, in map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	time.Sleep(c.delay)
	n := len(in["image_bytes"].Strings)
	out := &serving.Tensor{DType: serving.DTFloat, Shape: []int64{int64(n), int64(len(c.rows[0]))}}
	for i := range n {
		out.Float32 = append(out.Float32, c.rows[i%len(c.rows)]...)
	}
	return map[string]*serving.Tensor{"probabilities": out}, nil
}

func (c *classifier) Close() error { return nil }

type ctxKey string

// testOptions logs to a local directory through the real storage writer,
// every request, with request id and endpoint read from ctxKey values.
func testOptions(t *testing.T, dir string) (Options, *prometheus.Registry) {
	t.Helper()
	store, err := storage.NewWriter(context.Background(), dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return Options{Store: store, SampleRate: 1, Inputs: InputsHash, Registerer: reg, Host: "testhost", PID: 42,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		RequestID: func(ctx context.Context) string { v, _ := ctx.Value(ctxKey("id")).(string); return v },
		Endpoint:  func(ctx context.Context) string { v, _ := ctx.Value(ctxKey("endpoint")).(string); return v },
	}, reg
}

func start(t *testing.T, opts Options) *Log {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // bounded, so a test that failed with the store down still ends
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l.Close(ctx)
	})
	return l
}

func closeLog(t *testing.T, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// requestCtx is a request's context with its id and endpoint.
func requestCtx(id, endpoint string) context.Context {
	return context.WithValue(context.WithValue(context.Background(), ctxKey("id"), id), ctxKey("endpoint"), endpoint)
}

// predict sends images through m as one batch.
func predict(t *testing.T, m serving.Model, ctx context.Context, images ...[]byte) {
	t.Helper()
	in := &serving.Tensor{DType: serving.DTString, Shape: []int64{int64(len(images))}, Strings: images}
	if _, err := m.Predict(ctx, map[string]*serving.Tensor{"image_bytes": in}); err != nil {
		t.Fatal(err)
	}
}

// solidPNG encodes a w x h image of one colour.
func solidPNG(t *testing.T, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// logFile is one file the log wrote: its key under the base and records.
type logFile struct {
	key          string
	records      []Record
	uncompressed int
}

// readLog reads every file under dir, failing on anything that is not a
// complete gzip file of JSON lines (a temporary file left behind, say).
func readLog(t *testing.T, dir string) []logFile {
	t.Helper()
	var files []logFile
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasSuffix(rel, ".jsonl.gz") {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		raw, err := io.ReadAll(gz)
		if err != nil {
			t.Errorf("%s is not a complete gzip file: %v", rel, err)
			return nil
		}
		lf := logFile{key: rel, uncompressed: len(raw)}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var r Record
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Errorf("%s: line %q: %v", rel, sc.Text(), err)
			}
			lf.records = append(lf.records, r)
		}
		if len(raw) > 0 && raw[len(raw)-1] != '\n' {
			t.Errorf("%s does not end with a newline", rel)
		}
		files = append(files, lf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func allRecords(files []logFile) []Record {
	var out []Record
	for _, f := range files {
		out = append(out, f.records...)
	}
	return out
}

// counter reads one series of the log's metrics.
func counter(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
			if outcome == "" {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{outcome=%q}", name, outcome)
	return 0
}
