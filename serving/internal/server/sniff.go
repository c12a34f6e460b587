package server

import (
	"bytes"
	"encoding/binary"
	"image"
	_ "image/gif" // registers DecodeConfig for GIF headers
	"image/jpeg"
	_ "image/png" // registers DecodeConfig for PNG headers
	"strings"

	"github.com/imgclf/serving"
)

// DefaultMaxImagePixels bounds width*height of an input image: TensorFlow
// decodes to 3 bytes a pixel, so 40 megapixels is ~120 MB per image, while
// a 1 MB "decompression bomb" PNG can claim billions of pixels.
const DefaultMaxImagePixels = 40_000_000

// isImageInput says which inputs get the image check (see the package doc):
// string inputs whose key mentions "image". A name convention rather than
// "every string input" keeps text inputs of other models usable.
func isImageInput(key string, info serving.TensorInfo) bool {
	return info.DType == serving.DTString && strings.Contains(strings.ToLower(key), "image")
}

// Magic numbers of the formats tf.io.decode_image handles in every version.
var imageMagics = []struct {
	format string
	magic  []byte
}{
	{"jpeg", []byte{0xff, 0xd8, 0xff}},
	{"png", []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}},
	{"gif", []byte("GIF87a")},
	{"gif", []byte("GIF89a")},
	{"bmp", []byte("BM")},
}

// imageFormat returns "jpeg", "png", "gif" or "bmp" from b's magic number,
// or "" when b starts like none of them.
func imageFormat(b []byte) string {
	for _, m := range imageMagics {
		if bytes.HasPrefix(b, m.magic) {
			return m.format
		}
	}
	return ""
}

// isImage reports whether b starts like a JPEG, PNG, GIF or BMP file.
func isImage(b []byte) bool { return imageFormat(b) != "" }

// checkImage rejects, before any model runs and without decoding pixels:
// bytes that are not a JPEG, PNG, GIF or BMP (a file path, text, doubly
// base64-encoded data); a header that does not parse; a JPEG cut off before
// its end marker; and dimensions over maxPixels (decompression bombs), with
// 413. It returns the format.
func checkImage(b []byte, maxPixels int64) (string, error) {
	format := imageFormat(b)
	if format == "" {
		return "", serving.Errorf(serving.Invalid, "not a JPEG, PNG, GIF or BMP image")
	}
	w, h, err := dimensions(format, b)
	if err != nil {
		return "", serving.Errorf(serving.Invalid, "corrupt or truncated %s image: %v", strings.ToUpper(format), err)
	}
	if w <= 0 || h <= 0 {
		return "", serving.Errorf(serving.Invalid, "%s image has dimensions %dx%d", strings.ToUpper(format), w, h)
	}
	if maxPixels > 0 && w*h > maxPixels {
		return "", serving.Errorf(serving.TooLarge, "%s image is %dx%d = %d pixels, over the limit of %d (--max-image-pixels); resize it before sending", strings.ToUpper(format), w, h, w*h, maxPixels)
	}
	if format == "jpeg" && !jpegComplete(b) {
		return "", serving.Errorf(serving.Invalid, "truncated JPEG image: no end-of-image marker after its last scan")
	}
	return format, nil
}

// dimensions reads width and height from the header only.
func dimensions(format string, b []byte) (int64, int64, error) {
	if format == "bmp" {
		return bmpDimensions(b)
	}
	var cfg image.Config
	var err error
	if format == "jpeg" {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	} else {
		cfg, _, err = image.DecodeConfig(bytes.NewReader(b))
	}
	return int64(cfg.Width), int64(cfg.Height), err
}

// bmpDimensions parses the BITMAPINFOHEADER (or the older 12-byte core
// header) that follows the 14-byte file header. Height is negative for
// top-down bitmaps.
func bmpDimensions(b []byte) (int64, int64, error) {
	if len(b) < 26 {
		return 0, 0, serving.Errorf(serving.Invalid, "BMP header is %d bytes, too short", len(b))
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

// jpegComplete reports whether an end-of-image marker (FF D9) follows the
// last start-of-scan marker (FF DA). Inside entropy-coded data every FF byte
// is stuffed (FF 00), so the pair cannot occur by chance; a file cut short
// by an upload lacks it.
// Searching back from the end for the EOI finds it at once in a complete
// file, where searching for the last SOS would scan the whole scan data.
func jpegComplete(b []byte) bool {
	eoi := lastMarker(b, 0xd9)
	return eoi >= 0 && lastMarker(b[eoi:], 0xda) < 0 && bytes.Contains(b[:eoi], []byte{0xff, 0xda})
}

// lastMarker returns the index of the last FF m byte pair in b, or -1.
func lastMarker(b []byte, m byte) int {
	for end := len(b) - 1; end > 0; {
		i := bytes.LastIndexByte(b[:end], 0xff)
		if i < 0 {
			return -1
		}
		if b[i+1] == m {
			return i
		}
		end = i
	}
	return -1
}
