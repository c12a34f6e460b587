package server

import (
	"bytes"
	"strings"

	"github.com/imgclf/serving"
)

// isImageInput says which inputs get the image check (see the package doc):
// string inputs whose key mentions "image". A name convention rather than
// "every string input" keeps text inputs of other models usable.
func isImageInput(key string, info serving.TensorInfo) bool {
	return info.DType == serving.DTString && strings.Contains(strings.ToLower(key), "image")
}

// Magic numbers of the formats tf.io.decode_image handles in every version.
var imageMagics = [][]byte{
	{0xff, 0xd8, 0xff}, // JPEG
	{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, // PNG
	[]byte("GIF87a"),
	[]byte("GIF89a"),
	[]byte("BM"), // BMP
}

// isImage reports whether b starts like a JPEG, PNG, GIF or BMP file. It
// catches the common mistakes (a file path, text, a double-encoded base64
// string) with a clear 400 before TensorFlow reports them less clearly.
func isImage(b []byte) bool {
	for _, m := range imageMagics {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}
