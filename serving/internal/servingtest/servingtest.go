// Package servingtest holds test doubles and fixtures for code that serves
// a serving.Model: a fake image classifier, the exporter's signature and
// others, and tiny real images (the image check parses headers). It
// imports nothing of the predictor but package serving, so any package's
// tests can use it.
package servingtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/imgclf/serving"
)

// FakeModel stands in for the TensorFlow model; internal/model has its own
// tests against the real thing.
type FakeModel struct {
	Sig         serving.Signature
	PredictFunc func(inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error)
	Closed      atomic.Bool
}

// Signature implements serving.Model.
func (f *FakeModel) Signature() serving.Signature { return f.Sig }

// Predict implements serving.Model with PredictFunc; a closed model is
// Unavailable.
func (f *FakeModel) Predict(_ context.Context, inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	if f.Closed.Load() {
		return nil, serving.Errorf(serving.Unavailable, "closed")
	}
	return f.PredictFunc(inputs)
}

// Close implements serving.Model.
func (f *FakeModel) Close() error { f.Closed.Store(true); return nil }

// ImageSignature is the exporter's contract (see the SavedModel contract).
func ImageSignature() serving.Signature {
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

// NumericSignature has two numeric inputs, to cover multi-input requests.
func NumericSignature() serving.Signature {
	return serving.Signature{Name: "serving_default", Inputs: map[string]serving.TensorInfo{
		"x":  {DType: serving.DTFloat, Shape: []int64{-1, 2}},
		"id": {DType: serving.DTInt64, Shape: []int64{-1}},
	}}
}

// TextSignature has one string input that is not an image.
func TextSignature() serving.Signature {
	return serving.Signature{
		Name:    "serving_default",
		Inputs:  map[string]serving.TensorInfo{"text": {DType: serving.DTString, Shape: []int64{-1}}},
		Outputs: map[string]serving.TensorInfo{"y": {DType: serving.DTFloat, Shape: []int64{-1}}},
	}
}

// NewImageModel classifies an image as "png" (class 1) when it is a PNG,
// else "other" (class 0), so tests can check that rows line up.
func NewImageModel() *FakeModel {
	return &FakeModel{Sig: ImageSignature(), PredictFunc: func(in map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
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
	PNG  = string(EncodeImage("png", 4, 3))  // a 4x3 PNG file
	JPEG = string(EncodeImage("jpeg", 5, 2)) // a 5x2 JPEG file
)

// EncodeImage returns a w x h gradient as PNG or JPEG.
func EncodeImage(format string, w, h int) []byte {
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

// BombPNG is a valid PNG header claiming w x h pixels, followed by nothing:
// DecodeConfig reads the size without decoding pixels.
func BombPNG(w, h uint32) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()[:33] // signature + IHDR chunk
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// B64 is s in standard base64.
func B64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// SyncBuffer is a bytes.Buffer that a logger and a test may use at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
