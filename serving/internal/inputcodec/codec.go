// Package inputcodec is what the front ends share to turn request values
// into a signature's input tensors: one Codec per input (its dtype, and
// whether its elements must pass the image check), a Scanner for the small
// subset of JSON that the request fast paths read without building a tree,
// and error wording that says where in the request a value is wrong. Each
// protocol keeps its own wire format (TF Serving's JSON values, KServe v2's
// "data" and binary tensors) in its own package.
package inputcodec

import (
	"slices"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
)

// Codec decodes values for one signature input.
type Codec struct {
	Key   string
	Info  serving.TensorInfo
	Image bool // check that each element is an image (imagecheck.IsImageInput)
	// MaxPixels bounds each image's width*height (imagecheck.Check).
	MaxPixels int64
}

// New returns the codec of input key.
func New(key string, info serving.TensorInfo, maxPixels int64) Codec {
	return Codec{Key: key, Info: info, Image: imagecheck.IsImageInput(key, info), MaxPixels: maxPixels}
}

// Check checks one decoded element: an image input's elements must be
// images within the pixel limit.
func (c Codec) Check(b []byte) error {
	if !c.Image {
		return nil
	}
	_, err := imagecheck.Check(b, c.MaxPixels)
	return err
}

// PrefixError puts where in the request the problem is before a
// *serving.Error's message, keeping its code.
func PrefixError(path string, err error) error {
	return &serving.Error{Code: serving.ErrorCode(err), Message: path + ": " + err.Error()}
}

// Names lists a signature's input or output keys for error messages:
// ["a", "b"].
func Names(infos map[string]serving.TensorInfo) string {
	ks := make([]string, 0, len(infos))
	for k := range infos {
		ks = append(ks, strconv.Quote(k))
	}
	slices.Sort(ks)
	return "[" + strings.Join(ks, ", ") + "]"
}
