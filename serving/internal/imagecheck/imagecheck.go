// Package imagecheck checks encoded images from their headers, before a
// model runs and without decoding a pixel.
//
// Every element of a DT_STRING input whose signature key contains "image"
// (e.g. "image_bytes") must be a JPEG, PNG, GIF or BMP whose header parses,
// whose size is within --max-image-pixels (checked from the header, before
// any pixel is decoded), and, for a JPEG, that is not cut short; anything
// else gets a 4xx naming the element. Other string inputs go to the model
// untouched.
package imagecheck

import (
	"bytes"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imageheader"
)

// DefaultMaxPixels bounds width*height of an input image: TensorFlow
// decodes to 3 bytes a pixel, so 40 megapixels is ~120 MB per image, while
// a 1 MB "decompression bomb" PNG can claim billions of pixels.
const DefaultMaxPixels = 40_000_000

// IsImageInput says which inputs get the image check (see the package doc):
// string inputs whose key mentions "image". A name convention rather than
// "every string input" keeps text inputs of other models usable.
func IsImageInput(key string, info serving.TensorInfo) bool {
	return info.DType == serving.DTString && strings.Contains(strings.ToLower(key), "image")
}

// IsImage reports whether b starts like a JPEG, PNG, GIF or BMP file.
func IsImage(b []byte) bool { return imageheader.Format(b) != "" }

// Check rejects, before any model runs and without decoding pixels:
// bytes that are not a JPEG, PNG, GIF or BMP (a file path, text, doubly
// base64-encoded data); a header that does not parse; a JPEG cut off before
// its end marker; and dimensions over maxPixels (decompression bombs), with
// 413. It returns the format.
func Check(b []byte, maxPixels int64) (string, error) {
	format := imageheader.Format(b)
	if format == "" {
		return "", serving.Errorf(serving.Invalid, "not a JPEG, PNG, GIF or BMP image")
	}
	w, h, err := imageheader.Size(format, b)
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
