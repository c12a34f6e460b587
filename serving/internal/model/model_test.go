package model

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/testmodel"
)

func loadFixture(t *testing.T) (*SavedModel, string) {
	t.Helper()
	t.Setenv("TF_CPP_MIN_LOG_LEVEL", "2")
	dir := testmodel.Dir(t)
	m, err := Load(filepath.Join(dir, "1"), Options{IntraOpThreads: 2, InterOpThreads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, dir
}

// anyImage returns one of the fixture's images.
func anyImage(t *testing.T, dir string) []byte {
	t.Helper()
	for name := range testmodel.Load(t, dir).Images {
		return testmodel.Image(t, dir, name)
	}
	t.Fatal("the fixture has no images")
	return nil
}

func images(names ...[]byte) map[string]*serving.Tensor {
	return map[string]*serving.Tensor{"image_bytes": {
		DType: serving.DTString, Shape: []int64{int64(len(names))}, Strings: names,
	}}
}

func TestSignature(t *testing.T) {
	m, _ := loadFixture(t)
	sig := m.Signature()
	in, ok := sig.Inputs["image_bytes"]
	if !ok || in.DType != serving.DTString || len(in.Shape) != 1 || in.Shape[0] != -1 {
		t.Errorf("input image_bytes = %+v, %v", in, ok)
	}
	want := map[string]serving.DType{"probabilities": serving.DTFloat, "class_id": serving.DTInt64, "label": serving.DTString}
	for k, dt := range want {
		if sig.Outputs[k].DType != dt {
			t.Errorf("output %q dtype = %s, want %s", k, sig.Outputs[k].DType, dt)
		}
	}
}

// TestPredictMatchesKeras checks each image alone and all of them in one
// batch against the probabilities Keras computed in Python.
func TestPredictMatchesKeras(t *testing.T) {
	m, dir := loadFixture(t)
	exp := testmodel.Load(t, dir)
	var names []string
	for n := range exp.Images {
		names = append(names, n)
	}
	sort.Strings(names)

	var batch [][]byte
	for _, n := range names {
		img := testmodel.Image(t, dir, n)
		batch = append(batch, img)
		out, err := m.Predict(context.Background(), images(img))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		checkRow(t, n, out, 0, exp.Images[n])
	}
	out, err := m.Predict(context.Background(), images(batch...))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		checkRow(t, "batch/"+n, out, i, exp.Images[n])
	}
}

func checkRow(t *testing.T, name string, out map[string]*serving.Tensor, row int, want testmodel.Prediction) {
	t.Helper()
	p := out["probabilities"]
	c := len(want.Probabilities)
	if p == nil || len(p.Shape) != 2 || p.Shape[1] != int64(c) || len(p.Float32) < (row+1)*c {
		t.Fatalf("%s: probabilities = %+v", name, p)
	}
	for j, w := range want.Probabilities {
		if got := float64(p.Float32[row*c+j]); math.Abs(got-w) > 1e-5 {
			t.Errorf("%s: probabilities[%d] = %v, Keras says %v", name, j, got, w)
		}
	}
	if got := out["class_id"].Int64[row]; got != want.ClassID {
		t.Errorf("%s: class_id = %d, want %d", name, got, want.ClassID)
	}
	if got := string(out["label"].Strings[row]); got != want.Label {
		t.Errorf("%s: label = %q, want %q", name, got, want.Label)
	}
}

func TestPredictErrors(t *testing.T) {
	m, _ := loadFixture(t)
	tests := []struct {
		name   string
		inputs map[string]*serving.Tensor
		want   serving.Code
	}{
		{"garbage bytes", images([]byte("this is not an image, just some text")), serving.Invalid},
		{"missing input", map[string]*serving.Tensor{}, serving.Invalid},
		{"unknown input", map[string]*serving.Tensor{"image_bytes": images(nil)["image_bytes"], "x": {DType: serving.DTFloat}}, serving.Invalid},
		{"wrong dtype", map[string]*serving.Tensor{"image_bytes": {DType: serving.DTFloat, Shape: []int64{1}, Float32: []float32{1}}}, serving.Invalid},
		{"wrong rank", map[string]*serving.Tensor{"image_bytes": {DType: serving.DTString, Shape: []int64{1, 1}, Strings: [][]byte{nil}}}, serving.Invalid},
		{"data shorter than shape", map[string]*serving.Tensor{"image_bytes": {DType: serving.DTString, Shape: []int64{2}, Strings: [][]byte{nil}}}, serving.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Predict(context.Background(), tt.inputs)
			if got := serving.ErrorCode(err); got != tt.want {
				t.Errorf("Predict() error = %v (code %q), want code %q", err, got, tt.want)
			}
		})
	}
}

func TestConcurrentPredict(t *testing.T) {
	m, dir := loadFixture(t)
	exp := testmodel.Load(t, dir)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		for n, want := range exp.Images {
			img := testmodel.Image(t, dir, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					out, err := m.Predict(context.Background(), images(img, img))
					if err != nil {
						t.Error(err)
						return
					}
					checkRow(t, n, out, 1, want)
				}
			}()
		}
	}
	wg.Wait()
}

// TestCloseWaitsAndRejects: Close waits for a run already in flight, which
// then returns its real outputs; calls after Close are rejected as unavailable.
func TestCloseWaitsAndRejects(t *testing.T) {
	m, dir := loadFixture(t)
	exp := testmodel.Load(t, dir)
	var name string
	for n := range exp.Images {
		name = n
		break
	}
	img := testmodel.Image(t, dir, name)
	batch := make([][]byte, 256) // a run long enough to be caught in flight
	for i := range batch {
		batch[i] = img
	}
	type result struct {
		out map[string]*serving.Tensor
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		out, err := m.Predict(context.Background(), images(batch...))
		inFlight <- result{out, err}
	}()
	// A run holds the read lock: wait until one does (TryLock fails), then Close.
	for m.mu.TryLock() {
		m.mu.Unlock()
		runtime.Gosched()
	}
	// Had Close not waited, it would free the session under the run: an error
	// or a crash, not the run's real outputs.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-inFlight
	if r.err != nil {
		t.Fatalf("the run in flight during Close failed: %v", r.err)
	}
	probs := r.out["probabilities"]
	want := exp.Images[name].Probabilities
	if probs == nil || len(probs.Float32) != len(batch)*len(want) {
		t.Fatalf("the run in flight returned %+v", probs)
	}
	for i, w := range want {
		if got := probs.Float32[(len(batch)-1)*len(want)+i]; math.Abs(float64(got)-w) > 1e-5 {
			t.Errorf("last row, class %d: %v, want %v", i, got, w)
		}
	}
	if _, err := m.Predict(context.Background(), images(img)); serving.ErrorCode(err) != serving.Unavailable {
		t.Errorf("Predict after Close = %v, want unavailable", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestPredictCanceledContext: a canceled context stops a valid request before
// its run, with the context's error.
func TestPredictCanceledContext(t *testing.T) {
	m, dir := loadFixture(t)
	img := anyImage(t, dir)
	if _, err := m.Predict(context.Background(), images(img)); err != nil {
		t.Fatalf("the same request with a live context: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, images(img)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Predict with a canceled context = %v, want context.Canceled", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := testmodel.Dir(t)
	tests := []struct {
		name string
		dir  string
		opts Options
		want serving.Code
	}{
		{"no such dir", filepath.Join(t.TempDir(), "missing"), Options{}, serving.NotFound},
		{"unknown signature", filepath.Join(dir, "1"), Options{SignatureName: "nope"}, serving.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(tt.dir, tt.opts)
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			if got := serving.ErrorCode(err); got != tt.want {
				t.Errorf("Load() = %v (code %q), want %q", err, got, tt.want)
			}
		})
	}
}
