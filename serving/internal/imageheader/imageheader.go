// Package imageheader reads what an encoded image's first bytes say, its
// format and its size, without decoding a pixel. The server checks requests
// with it before a model runs; the prediction log describes the images it
// records with it.
package imageheader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/gif" // registers DecodeConfig for GIF headers
	"image/jpeg"
	_ "image/png" // registers DecodeConfig for PNG headers
)

// Magic numbers of the formats tf.io.decode_image handles in every version.
var magics = []struct {
	format string
	magic  []byte
}{
	{"jpeg", []byte{0xff, 0xd8, 0xff}},
	{"png", []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}},
	{"gif", []byte("GIF87a")},
	{"gif", []byte("GIF89a")},
	{"bmp", []byte("BM")},
}

// Format returns "jpeg", "png", "gif" or "bmp" from b's magic number, or ""
// when b starts like none of them.
func Format(b []byte) string {
	for _, m := range magics {
		if bytes.HasPrefix(b, m.magic) {
			return m.format
		}
	}
	return ""
}

// Size reads width and height from the header of an image in format (as
// Format names it); the pixels are not decoded.
func Size(format string, b []byte) (width, height int64, err error) {
	if format == "bmp" {
		return bmpSize(b)
	}
	var cfg image.Config
	if format == "jpeg" {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	} else {
		cfg, _, err = image.DecodeConfig(bytes.NewReader(b))
	}
	return int64(cfg.Width), int64(cfg.Height), err
}

// bmpSize parses the BITMAPINFOHEADER (or the older 12-byte core header)
// that follows the 14-byte file header. Height is negative for top-down
// bitmaps.
func bmpSize(b []byte) (int64, int64, error) {
	if len(b) < 26 {
		return 0, 0, fmt.Errorf("BMP header is %d bytes, too short", len(b))
	}
	if binary.LittleEndian.Uint32(b[14:18]) == 12 {
		return int64(binary.LittleEndian.Uint16(b[18:20])), int64(binary.LittleEndian.Uint16(b[20:22])), nil
	}
	w := int64(int32(binary.LittleEndian.Uint32(b[18:22])))
	h := int64(int32(binary.LittleEndian.Uint32(b[22:26])))
	if h < 0 {
		h = -h
	}
	return w, h, nil
}
