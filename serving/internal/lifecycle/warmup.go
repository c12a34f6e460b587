package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imgclf/serving"
)

// WarmupDir holds optional warmup images inside a version:
// assets/warmup/*.jpg|png|... Each is sent once before the version is
// marked AVAILABLE, so the first real request does not pay for TensorFlow's
// lazy initialisation. Without it a generated image is used.
const WarmupDir = "assets/warmup"

// maxWarmupImages bounds the warmup requests a version may ask for.
const maxWarmupImages = 16

// Warmup runs the warmup requests for the version in dir through m and
// returns how many ran. Any failure fails the load: a version that cannot
// answer its own warmup would not answer clients either.
func Warmup(ctx context.Context, m serving.Model, dir string) (int, error) {
	sig := m.Signature()
	images, err := warmupImages(dir)
	if err != nil {
		return 0, err
	}
	requests, err := warmupRequests(sig, images)
	if err != nil {
		return 0, err
	}
	for i, in := range requests {
		if _, err := m.Predict(ctx, in); err != nil {
			return i, fmt.Errorf("warmup request %d of %d: %w", i+1, len(requests), err)
		}
	}
	return len(requests), nil
}

func warmupImages(dir string) ([][]byte, error) {
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(WarmupDir)))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var images [][]byte
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains([]string{".jpg", ".jpeg", ".png", ".gif", ".bmp"}, ext) {
			continue
		}
		if len(images) == maxWarmupImages {
			break
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(WarmupDir), e.Name()))
		if err != nil {
			return nil, err
		}
		images = append(images, b)
	}
	return images, nil
}

// warmupRequests builds one request per image (or one with a generated
// image) for a signature with one string input; for other signatures one
// request of zeros (empty strings) shaped like the signature, with 1 for
// every unknown dimension.
func warmupRequests(sig serving.Signature, images [][]byte) ([]map[string]*serving.Tensor, error) {
	if len(sig.Inputs) == 1 {
		for k, info := range sig.Inputs {
			if info.DType == serving.DTString && (info.UnknownRank || len(info.Shape) == 1) {
				if len(images) == 0 {
					images = [][]byte{generatedImage()}
				}
				var reqs []map[string]*serving.Tensor
				for _, img := range images {
					reqs = append(reqs, map[string]*serving.Tensor{k: {DType: serving.DTString, Shape: []int64{1}, Strings: [][]byte{img}}})
				}
				return reqs, nil
			}
		}
	}
	in := map[string]*serving.Tensor{}
	for k, info := range sig.Inputs {
		if info.UnknownRank {
			return nil, fmt.Errorf("input %q has unknown rank; add warmup images to %s or a signature with known shapes", k, WarmupDir)
		}
		t := &serving.Tensor{DType: info.DType, Shape: make([]int64, len(info.Shape))}
		for i, d := range info.Shape {
			t.Shape[i] = max(d, 1)
		}
		n := t.NumElements()
		switch info.DType {
		case serving.DTFloat:
			t.Float32 = make([]float32, n)
		case serving.DTInt32:
			t.Int32 = make([]int32, n)
		case serving.DTInt64:
			t.Int64 = make([]int64, n)
		case serving.DTString:
			t.Strings = make([][]byte, n)
		default:
			return nil, fmt.Errorf("input %q has dtype %s, which warmup cannot generate", k, info.DType)
		}
		in[k] = t
	}
	return []map[string]*serving.Tensor{in}, nil
}

// generatedImage is a 64x64 PNG gradient: any image model can decode it.
func generatedImage() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 128, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img) // writing to a bytes.Buffer cannot fail
	return buf.Bytes()
}
