package model

import (
	"context"
	"math"
	"path/filepath"
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

func TestCloseWaitsAndRejects(t *testing.T) {
	m, dir := loadFixture(t)
	exp := testmodel.Load(t, dir)
	var img []byte
	for n := range exp.Images {
		img = testmodel.Image(t, dir, n)
		break
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Predict(context.Background(), images(img))
			if err != nil && serving.ErrorCode(err) != serving.Unavailable {
				t.Errorf("Predict during Close: %v", err)
			}
		}()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := m.Predict(context.Background(), images(img)); serving.ErrorCode(err) != serving.Unavailable {
		t.Errorf("Predict after Close = %v, want unavailable", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestPredictCanceledContext(t *testing.T) {
	m, _ := loadFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Predict(ctx, images([]byte("x"))); err == nil {
		t.Fatal("Predict with canceled context succeeded")
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
