package predlog

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"golang.org/x/image/bmp"
)

// TestBrightness encodes solid colours in every format and compares the
// mean luma with the colour's, computed here from its definition.
func TestBrightness(t *testing.T) {
	solid := func(m interface {
		image.Image
		Set(x, y int, c color.Color)
	}, c color.Color) image.Image {
		b := m.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				m.Set(x, y, c)
			}
		}
		return m
	}
	rect := image.Rect(0, 0, 17, 9)
	encode := func(f func(*bytes.Buffer) error) []byte {
		var buf bytes.Buffer
		if err := f(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name    string
		r, g, b float64 // the colour
		data    []byte
		tol     float64
	}{
		{"png rgb", 200, 100, 50, encode(func(w *bytes.Buffer) error {
			return png.Encode(w, solid(image.NewRGBA(rect), color.RGBA{200, 100, 50, 255}))
		}), 1e-12},
		{"png with alpha", 10, 240, 130, encode(func(w *bytes.Buffer) error {
			return png.Encode(w, solid(image.NewNRGBA(rect), color.NRGBA{10, 240, 130, 128}))
		}), 1e-12},
		{"png gray", 77, 77, 77, encode(func(w *bytes.Buffer) error {
			return png.Encode(w, solid(image.NewGray(rect), color.Gray{77}))
		}), 1e-12},
		{"jpeg", 30, 160, 220, encode(func(w *bytes.Buffer) error {
			return jpeg.Encode(w, solid(image.NewRGBA(rect), color.RGBA{30, 160, 220, 255}), &jpeg.Options{Quality: 100})
		}), 0.01}, // lossy: chroma subsampling and rounding
		{"jpeg gray", 180, 180, 180, encode(func(w *bytes.Buffer) error {
			return jpeg.Encode(w, solid(image.NewGray(rect), color.Gray{180}), &jpeg.Options{Quality: 100})
		}), 0.01},
		{"gif", 255, 0, 0, encode(func(w *bytes.Buffer) error {
			return gif.Encode(w, solid(image.NewPaletted(rect, palette.Plan9), color.RGBA{255, 0, 0, 255}), nil)
		}), 1e-12},
		{"bmp", 0, 0, 255, encode(func(w *bytes.Buffer) error {
			return bmp.Encode(w, solid(image.NewRGBA(rect), color.RGBA{0, 0, 255, 255}))
		}), 1e-12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := (0.299*tt.r + 0.587*tt.g + 0.114*tt.b) / 255
			got, ok := brightness(tt.data)
			if !ok || math.Abs(got-want) > tt.tol {
				t.Errorf("brightness = %v, %v; want %v within %v", got, ok, want, tt.tol)
			}
		})
	}

	half := image.NewRGBA(image.Rect(0, 0, 4, 2)) // top row white, bottom black: 0.5
	solid(half.SubImage(image.Rect(0, 0, 4, 1)).(*image.RGBA), color.White)
	solid(half.SubImage(image.Rect(0, 1, 4, 2)).(*image.RGBA), color.Black)
	if got, ok := brightness(encode(func(w *bytes.Buffer) error { return png.Encode(w, half) })); !ok || math.Abs(got-0.5) > 1e-12 {
		t.Errorf("half white, half black = %v, want 0.5", got)
	}
	for _, bad := range [][]byte{nil, []byte("not an image"), []byte("\x89PNG\r\n\x1a\ntruncated")} {
		if v, ok := brightness(bad); ok {
			t.Errorf("brightness(%q) = %v, want no value", bad, v)
		}
	}
}
