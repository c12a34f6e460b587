package imagecheck

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestCheckImage(t *testing.T) {
	jpg := []byte(servingtest.JPEG)
	tests := []struct {
		name string
		in   []byte
		want serving.Code
	}{
		{"png", []byte(servingtest.PNG), ""},
		{"jpeg", jpg, ""},
		{"text", []byte("hello"), serving.Invalid},
		{"base64 of a png", []byte(base64.StdEncoding.EncodeToString([]byte(servingtest.PNG))), serving.Invalid},
		{"png magic only", []byte("\x89PNG\r\n\x1a\n"), serving.Invalid},
		{"truncated jpeg", jpg[:len(jpg)-20], serving.Invalid},
		{"jpeg header only", jpg[:30], serving.Invalid},
		{"decompression bomb", servingtest.BombPNG(100000, 100000), serving.TooLarge},
		{"zero width", servingtest.BombPNG(0, 10), serving.Invalid},
		{"bmp", append([]byte("BM"), make([]byte, 24)...), serving.Invalid}, // 0x0
		{"short bmp", []byte("BM12"), serving.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(tt.in, 1_000_000)
			if code := serving.ErrorCode(err); code != tt.want {
				t.Errorf("Check = %v (code %q), want code %q", err, code, tt.want)
			}
		})
	}
}

func TestIsImage(t *testing.T) {
	tests := map[string]bool{
		servingtest.PNG:    true,
		servingtest.JPEG:   true,
		"GIF89a...":        true,
		"GIF87a...":        true,
		"BM6\x00\x00":      true,
		"":                 false,
		"\x89PN":           false,
		"RIFF\x00WEBPVP8 ": false,
		"iVBORw0KGgo=":     false, // base64 of a PNG sent without {"b64": ...}
	}
	for in, want := range tests {
		if got := IsImage([]byte(in)); got != want {
			t.Errorf("IsImage(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzCheckImage: the header check never panics and only passes images
// within the pixel limit.
func FuzzCheckImage(f *testing.F) {
	f.Add([]byte(servingtest.PNG))
	f.Add([]byte(servingtest.JPEG))
	f.Add(servingtest.BombPNG(1<<20, 1<<20))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"))
	f.Add(append([]byte("BM"), make([]byte, 30)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Check(b, 1<<20)
		if code := serving.ErrorCode(err); err != nil && code != serving.Invalid && code != serving.TooLarge {
			t.Fatalf("error %v has code %q", err, code)
		}
	})
}

// FuzzJPEGComplete: the backward search agrees with the definition, an
// EOI marker somewhere after the last SOS marker.
func FuzzJPEGComplete(f *testing.F) {
	f.Add([]byte(servingtest.JPEG))
	f.Add([]byte(servingtest.JPEG)[:len(servingtest.JPEG)-2])
	f.Add([]byte("\xff\xda\xff\xd9\xff\xda"))
	f.Add([]byte("\xff\xd9\xff\xda\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sos := bytes.LastIndex(b, []byte{0xff, 0xda})
		want := sos >= 0 && bytes.Contains(b[sos:], []byte{0xff, 0xd9})
		if got := jpegComplete(b); got != want {
			t.Fatalf("jpegComplete(%x) = %v, want %v", b, got, want)
		}
	})
}
