package kservev2

import (
	"reflect"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/inputcodec"
	"github.com/imgclf/serving/internal/servingtest"
)

// fastCodecs returns the codec of each input of sig (the test signatures
// have one).
func fastCodecs(sig serving.Signature) []inputcodec.Codec {
	var codecs []inputcodec.Codec
	for k, info := range sig.Inputs {
		codecs = append(codecs, inputcodec.New(k, info, imagecheck.DefaultMaxPixels))
	}
	return codecs
}

func TestAppendPlainStrings(t *testing.T) {
	png := servingtest.B64(servingtest.PNG)
	image := fastCodecs(servingtest.ImageSignature())[0]
	tests := []struct {
		data string
		n    int64
		want bool
	}{
		{`["` + png + `", "` + png + `"]`, 2, true},
		{` [ "` + png + `" ] `, 1, true},
		{`["` + png + `"]`, 2, false}, // fewer than the shape says
		{`[["` + png + `"]]`, 1, false},
		{`["` + servingtest.B64("not an image") + `"]`, 1, false},
		{`["` + png + `"] x`, 1, false},
	}
	for _, tt := range tests {
		tensor := &serving.Tensor{DType: serving.DTString}
		if got := appendPlainStrings(tensor, []byte(tt.data), tt.n, image, ""); got != tt.want {
			t.Errorf("appendPlainStrings(%.40q, %d) = %v, want %v", tt.data, tt.n, got, tt.want)
		}
		if !tt.want && len(tensor.Strings) != 0 {
			t.Errorf("%.40q: refused but left %d strings in the tensor", tt.data, len(tensor.Strings))
		}
	}
}

// FuzzFastV2DataAgrees: whenever appendPlainStrings accepts "data", the
// token reader accepts it too and reads the same bytes.
func FuzzFastV2DataAgrees(f *testing.F) {
	png := servingtest.B64(servingtest.PNG)
	f.Add(`["`+png+`"]`, uint8(1), "")
	f.Add(`["`+png+`", "`+servingtest.B64(servingtest.JPEG)+`"]`, uint8(2), "base64")
	f.Add(`["hello", "world"]`, uint8(2), "str")
	sigs := []serving.Signature{servingtest.ImageSignature(), servingtest.TextSignature()}
	f.Fuzz(func(t *testing.T, data string, n uint8, contentType string) {
		for _, sig := range sigs {
			codec := fastCodecs(sig)[0]
			fast := &serving.Tensor{DType: serving.DTString}
			if !appendPlainStrings(fast, []byte(data), int64(n), codec, contentType) {
				if len(fast.Strings) != 0 {
					t.Fatalf("%q: refused but left %d strings in the tensor", data, len(fast.Strings))
				}
				continue
			}
			general := &serving.Tensor{DType: serving.DTString}
			if err := readV2Tokens(general, []byte(data), int64(n), codec, contentType); err != nil {
				t.Fatalf("fast path accepted %q (n=%d, %q), token reader: %v", data, n, contentType, err)
			}
			if !reflect.DeepEqual(fast.Strings, general.Strings) {
				t.Fatalf("%q: fast %q, tokens %q", data, fast.Strings, general.Strings)
			}
		}
	})
}
