package server

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imgclf/serving"
)

// fakeModel stands in for the TensorFlow model; internal/model has its own
// tests against the real thing.
type fakeModel struct {
	sig     serving.Signature
	predict func(inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error)
	closed  atomic.Bool
}

func (f *fakeModel) Signature() serving.Signature { return f.sig }

func (f *fakeModel) Predict(_ context.Context, inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	if f.closed.Load() {
		return nil, serving.Errorf(serving.Unavailable, "closed")
	}
	return f.predict(inputs)
}

func (f *fakeModel) Close() error { f.closed.Store(true); return nil }

// imageSignature is the exporter's contract (see the SavedModel contract).
func imageSignature() serving.Signature {
	return serving.Signature{
		Name:       "serving_default",
		MethodName: "tensorflow/serving/predict",
		Inputs: map[string]serving.TensorInfo{
			"image_bytes": {Name: "serving_default_image_bytes:0", DType: serving.DTString, Shape: []int64{-1}},
		},
		Outputs: map[string]serving.TensorInfo{
			"class_id":      {Name: "StatefulPartitionedCall:0", DType: serving.DTInt64, Shape: []int64{-1}},
			"label":         {Name: "StatefulPartitionedCall:1", DType: serving.DTString, Shape: []int64{-1}},
			"probabilities": {Name: "StatefulPartitionedCall:2", DType: serving.DTFloat, Shape: []int64{-1, 2}},
		},
	}
}

// newImageModel classifies an image as "png" (class 1) when it is a PNG,
// else "other" (class 0), so tests can check that rows line up.
func newImageModel() *fakeModel {
	return &fakeModel{sig: imageSignature(), predict: func(in map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
		imgs := in["image_bytes"].Strings
		n := int64(len(imgs))
		probs := &serving.Tensor{DType: serving.DTFloat, Shape: []int64{n, 2}}
		ids := &serving.Tensor{DType: serving.DTInt64, Shape: []int64{n}}
		labels := &serving.Tensor{DType: serving.DTString, Shape: []int64{n}}
		for _, img := range imgs {
			id := int64(0)
			if strings.HasPrefix(string(img), "\x89PNG") {
				id = 1
			}
			p := []float32{0.9, 0.1}
			if id == 1 {
				p = []float32{0.1, 0.9}
			}
			probs.Float32 = append(probs.Float32, p...)
			ids.Int64 = append(ids.Int64, id)
			labels.Strings = append(labels.Strings, []byte(map[int64]string{0: "other", 1: "png"}[id]))
		}
		return map[string]*serving.Tensor{"probabilities": probs, "class_id": ids, "label": labels}, nil
	}}
}

// Real, tiny images: the image check parses headers.
var (
	pngMagic  = string(encodeImage("png", 4, 3))
	jpegMagic = string(encodeImage("jpeg", 5, 2))
)

// encodeImage returns a w x h gradient as PNG or JPEG.
func encodeImage(format string, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 40), uint8(y * 40), 90, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// testServer serves model as "imgclf" version 1 and returns its URL.
func testServer(t *testing.T, model serving.Model, opts Options) (*Server, string) {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
		opts.Registry.Publish("imgclf", 1, Loaded{Model: model, Labels: []string{"other", "png"}})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// do sends a request and returns status, body and response headers.
func do(t *testing.T, method, url, body string) (int, string, http.Header) {
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
