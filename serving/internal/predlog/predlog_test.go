package predlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image/color"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imgclf/serving"
)

var labels = []string{"cat", "dog", "bird"}

func TestRecordFields(t *testing.T) {
	dir := t.TempDir()
	opts, reg := testOptions(t, dir)
	opts.Inputs = InputsBytes
	opts.TopK = 2
	l := start(t, opts)
	inner := &classifier{rows: [][]float32{{0.1, 0.7, 0.2}, {0.5, 0.2, 0.3}}, delay: 20 * time.Millisecond}
	m := l.Wrap(inner, "faces", 3, labels)
	a := solidPNG(t, 8, 6, color.RGBA{200, 100, 50, 255})
	b := solidPNG(t, 3, 5, color.RGBA{0, 0, 0, 255})
	before := time.Now()
	predict(t, m, requestCtx("req-1", "classify_image"), a, b)
	predict(t, m, requestCtx("req-2", "v2_infer"), b)
	predict(t, m, requestCtx("req-3", "predict"), a)
	closeLog(t, l)

	recs := allRecords(readLog(t, dir))
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	r := recs[0]
	at, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil || !strings.HasSuffix(r.Time, "Z") || len(r.Time) != len("2026-12-06T12:34:56.789012Z") ||
		at.Before(before.Truncate(time.Microsecond)) || at.After(time.Now()) {
		t.Errorf("time = %q (%v); want RFC 3339 UTC with microseconds, when the model answered", r.Time, err)
	}
	if r.RequestID != "req-1" || r.Model != "faces" || r.Version != 3 || r.Endpoint != "classify-image" {
		t.Errorf("record = %+v", r)
	}
	if r.LatencyMS < 20 || r.LatencyMS > 5000 {
		t.Errorf("latency_ms = %v, want the model's 20ms or a little more", r.LatencyMS)
	}
	if got := []string{recs[1].Endpoint, recs[2].Endpoint}; !reflect.DeepEqual(got, []string{"infer", "predict"}) {
		t.Errorf("endpoints = %v, want the schema's names", got)
	}
	if len(r.Instances) != 2 {
		t.Fatalf("instances = %+v, want one per image", r.Instances)
	}
	// Ranked by hand: row 0 {cat .1, dog .7, bird .2}, row 1 {cat .5, dog .2, bird .3}; k = 2.
	want := [][]Class{{{1, "dog", 0.7}, {2, "bird", 0.2}}, {{0, "cat", 0.5}, {2, "bird", 0.3}}}
	for i, inst := range r.Instances {
		if !reflect.DeepEqual(inst.TopK, want[i]) {
			t.Errorf("row %d top_k = %+v, want %+v", i, inst.TopK, want[i])
		}
	}
	for i, img := range [][]byte{a, b} {
		in := r.Instances[i].Input
		sum := sha256.Sum256(img)
		if in == nil || in.Format != "png" || in.SHA256 != hex.EncodeToString(sum[:]) || string(in.Bytes) != string(img) {
			t.Fatalf("row %d input = %+v", i, in)
		}
	}
	if in := r.Instances[0].Input; in.Width != 8 || in.Height != 6 || in.Brightness == nil ||
		math.Abs(*in.Brightness-(0.299*200+0.587*100+0.114*50)/255) > 1e-9 {
		t.Errorf("input = %+v (brightness %v)", in, *in.Brightness)
	}
	if got := counter(t, reg, "predictor_prediction_log_records_total", "written"); got != 3 {
		t.Errorf("records written = %v, want 3", got)
	}
	if got := counter(t, reg, "predictor_prediction_log_files_total", "written"); got != 1 {
		t.Errorf("files written = %v, want 1", got)
	}
}

func TestInputsAndLabels(t *testing.T) {
	img := solidPNG(t, 2, 2, color.White)
	for _, tt := range []struct {
		inputs     Inputs
		hash, data bool
	}{{InputsNone, false, false}, {InputsHash, true, false}, {InputsBytes, true, true}} {
		t.Run(tt.inputs.String(), func(t *testing.T) {
			dir := t.TempDir()
			opts, _ := testOptions(t, dir)
			opts.Inputs = tt.inputs
			l := start(t, opts)
			predict(t, l.Wrap(&classifier{rows: [][]float32{{0.2, 0.8}}}, "m", 1, nil), requestCtx("r", "predict"), img)
			closeLog(t, l)
			recs := allRecords(readLog(t, dir))
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			inst := recs[0].Instances[0]
			if (inst.Input.SHA256 != "") != tt.hash || (inst.Input.Bytes != nil) != tt.data || inst.Input.Format != "png" {
				t.Errorf("input = %+v", inst.Input)
			}
			if want := []Class{{1, "", 0.8}, {0, "", 0.2}}; !reflect.DeepEqual(inst.TopK, want) {
				t.Errorf("top_k without labels = %+v, want %+v", inst.TopK, want)
			}
		})
	}
	if _, err := ParseInputs("all"); err == nil {
		t.Error(`ParseInputs("all") succeeded`)
	}
}

func TestSampleRate(t *testing.T) {
	img := solidPNG(t, 2, 2, color.White)
	for _, tt := range []struct {
		rate     float64
		min, max int
	}{{0, 0, 0}, {1, 400, 400}, {0.5, 140, 260}} { // 0.5: 400 draws, 6 standard deviations either side
		dir := t.TempDir()
		opts, reg := testOptions(t, dir)
		opts.SampleRate = tt.rate
		opts.Inputs = InputsNone
		l := start(t, opts)
		m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
		for range 400 {
			predict(t, m, context.Background(), img)
		}
		closeLog(t, l)
		n := len(allRecords(readLog(t, dir)))
		if n < tt.min || n > tt.max {
			t.Errorf("rate %v: %d of 400 requests logged, want %d to %d", tt.rate, n, tt.min, tt.max)
		}
		if got := counter(t, reg, "predictor_prediction_log_records_total", "written"); got != float64(n) {
			t.Errorf("rate %v: written counter %v, files hold %d", tt.rate, got, n)
		}
	}
	if _, err := New(Options{Store: &failingStore{}, SampleRate: 1.5}); err == nil {
		t.Error("sample rate 1.5 accepted")
	}
}

func TestQueueFullDrops(t *testing.T) {
	dir := t.TempDir()
	opts, reg := testOptions(t, dir)
	opts.QueueSize = 2
	l, err := newLog(opts) // goroutines not started: nothing drains the queue yet
	if err != nil {
		t.Fatal(err)
	}
	m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
	img := solidPNG(t, 2, 2, color.White)
	for range 5 {
		predict(t, m, context.Background(), img)
	}
	if got := counter(t, reg, "predictor_prediction_log_records_total", "dropped_queue_full"); got != 3 {
		t.Errorf("dropped_queue_full = %v after 5 records into a queue of 2, want 3", got)
	}
	l.start()
	closeLog(t, l)
	predict(t, m, context.Background(), img) // after Close: dropped, never a panic
	if n := len(allRecords(readLog(t, dir))); n != 2 {
		t.Errorf("%d records written, want the 2 queued", n)
	}
	if got := counter(t, reg, "predictor_prediction_log_records_total", "dropped_queue_full"); got != 4 {
		t.Errorf("dropped_queue_full = %v, want 4 with the one after Close", got)
	}

	// The byte bound: images waiting for the encoder hold memory too.
	opts, reg = testOptions(t, t.TempDir())
	opts.MaxQueuedBytes = int64(len(img)) + 1
	l, _ = newLog(opts)
	m = l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
	predict(t, m, context.Background(), img)
	predict(t, m, context.Background(), img)
	if got := counter(t, reg, "predictor_prediction_log_records_total", "dropped_queue_full"); got != 1 {
		t.Errorf("dropped_queue_full = %v with room for one image's bytes, want 1", got)
	}
	l.start()
	closeLog(t, l)
}

func TestRollBySize(t *testing.T) {
	dir := t.TempDir()
	opts, reg := testOptions(t, dir)
	opts.MaxFileBytes = 2000
	l := start(t, opts)
	m := l.Wrap(&classifier{rows: [][]float32{{0.3, 0.7}}}, "m", 1, []string{"a", "b"})
	img := solidPNG(t, 4, 4, color.Gray{90})
	const n = 60
	for i := range n {
		predict(t, m, requestCtx(strings.Repeat("x", i%7), "predict"), img)
	}
	closeLog(t, l)
	files := readLog(t, dir)
	if len(files) < 3 {
		t.Fatalf("%d files for %d records of ~300 bytes with a 2000-byte limit, want several", len(files), n)
	}
	total := 0
	for _, f := range files {
		total += len(f.records)
		lineMax := f.uncompressed / len(f.records) * 2
		if f.uncompressed >= 2000+lineMax {
			t.Errorf("%s: %d bytes uncompressed, over the limit by more than a line", f.key, f.uncompressed)
		}
	}
	if total != n {
		t.Errorf("%d records in the files, want %d", total, n)
	}
	if got := counter(t, reg, "predictor_prediction_log_files_total", "written"); got != float64(len(files)) {
		t.Errorf("files written counter = %v, %d files exist", got, len(files))
	}
}

func TestRollByAgeAndFlushOnClose(t *testing.T) {
	img := solidPNG(t, 2, 2, color.White)
	t.Run("age", func(t *testing.T) {
		dir := t.TempDir()
		opts, _ := testOptions(t, dir)
		opts.FlushInterval = 50 * time.Millisecond
		l := start(t, opts)
		predict(t, l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil), context.Background(), img)
		deadline := time.Now().Add(5 * time.Second)
		for { // only complete files have this name; the one being written is a hidden temporary
			if found, _ := filepath.Glob(filepath.Join(dir, "m", "1", "date=*", "*.jsonl.gz")); len(found) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no file rolled by age within 5s of a 50ms flush interval")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n := len(allRecords(readLog(t, dir))); n != 1 {
			t.Errorf("%d records in the file rolled by age, want 1", n)
		}
	})
	t.Run("close", func(t *testing.T) {
		dir := t.TempDir()
		opts, _ := testOptions(t, dir)
		opts.FlushInterval = time.Hour
		l := start(t, opts)
		m := l.Wrap(&classifier{rows: [][]float32{{1}}}, "m", 1, nil)
		for range 7 {
			predict(t, m, context.Background(), img)
		}
		time.Sleep(50 * time.Millisecond)
		if files := readLog(t, dir); len(files) != 0 {
			t.Fatalf("%d files before Close with an hour's flush interval", len(files))
		}
		closeLog(t, l)
		if n := len(allRecords(readLog(t, dir))); n != 7 {
			t.Errorf("%d records after Close, want 7", n)
		}
	})
}

func TestPartitions(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOptions(t, dir)
	l := start(t, opts)
	img := solidPNG(t, 2, 2, color.White)
	inner := &classifier{rows: [][]float32{{1}}}
	predict(t, l.Wrap(inner, "faces", 1, nil), context.Background(), img)
	predict(t, l.Wrap(inner, "faces", 2, nil), context.Background(), img)
	predict(t, l.Wrap(inner, "digits", 1, nil), context.Background(), img)
	closeLog(t, l)
	date := time.Now().UTC().Format("2006-01-02")
	var keys []string
	for _, f := range readLog(t, dir) {
		keys = append(keys, f.key)
		r := f.records[0]
		prefix := r.Model + "/" + map[int64]string{1: "1", 2: "2"}[r.Version] + "/date=" + date + "/predictions-"
		if len(f.records) != 1 || !strings.HasPrefix(f.key, prefix) || !strings.Contains(f.key, "-testhost-42-") {
			t.Errorf("%s holds %+v; want one record, under %s", f.key, f.records, prefix)
		}
	}
	if len(keys) != 3 {
		t.Errorf("files %v, want one per model version", keys)
	}
}

func TestWrapKeepsTheModel(t *testing.T) {
	inner := &classifier{rows: [][]float32{{1}}}
	var nilLog *Log
	if m := nilLog.Wrap(inner, "m", 1, nil); m != serving.Model(inner) {
		t.Error("a nil Log wrapped the model")
	}
	if err := nilLog.Close(context.Background()); err != nil {
		t.Error(err)
	}
	opts, _ := testOptions(t, t.TempDir())
	l := start(t, opts)
	m := l.Wrap(queued{inner}, "m", 1, nil)
	if q, ok := m.(interface{ QueueLen() int }); !ok || q.QueueLen() != 7 {
		t.Error("the wrapped model hides the batcher's QueueLen from the queue depth metric")
	}
	if m.Signature().Name != "serving_default" {
		t.Error("signature not forwarded")
	}
}

type queued struct{ *classifier }

func (queued) QueueLen() int { return 7 }

func TestNaNScoreIsNull(t *testing.T) {
	dir := t.TempDir()
	opts, _ := testOptions(t, dir)
	l := start(t, opts)
	predict(t, l.Wrap(&classifier{rows: [][]float32{{float32(math.NaN()), 0.5}}}, "m", 1, nil), context.Background(),
		solidPNG(t, 2, 2, color.White))
	closeLog(t, l)
	recs := allRecords(readLog(t, dir))
	if len(recs) != 1 || len(recs[0].Instances[0].TopK) != 2 {
		t.Fatalf("records = %+v, want the line written despite the NaN", recs)
	}
}
