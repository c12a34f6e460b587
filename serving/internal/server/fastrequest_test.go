package server

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/imgclf/serving"
)

// textSignature has one string input that is not an image.
func textSignature() serving.Signature {
	return serving.Signature{
		Name:    "serving_default",
		Inputs:  map[string]serving.TensorInfo{"text": {DType: serving.DTString, Shape: []int64{-1}}},
		Outputs: map[string]serving.TensorInfo{"y": {DType: serving.DTFloat, Shape: []int64{-1}}},
	}
}

func fastCodecs(sig serving.Signature) []inputCodec { return inputCodecs(sig, DefaultMaxImagePixels) }

// TestFastPredictTakesCommonBodies: the bodies clients send (as TF
// Serving's documentation writes them, as json.dumps and JSON.stringify
// write them, pretty-printed) take the fast path and decode to what the
// general decoder makes of them.
func TestFastPredictTakesCommonBodies(t *testing.T) {
	png, jpg := b64(pngMagic), b64(jpegMagic)
	bodies := []string{
		`{"instances":[{"b64":"` + png + `"}]}`,
		`{"instances": [{"b64": "` + png + `"}, {"b64": "` + jpg + `"}]}`,
		`{"signature_name": "serving_default", "instances": [{"b64": "` + jpg + `"}]}`,
		`{"instances": [{"b64": "` + jpg + `"}], "signature_name": "other"}`,
		`{"inputs": [{"b64": "` + png + `"}, {"b64": "` + png + `"}]}`,
		"{\n  \"instances\": [\n    {\n      \"b64\": \"" + png + "\"\n    }\n  ]\n}\n",
	}
	for _, body := range bodies {
		got, ok := fastPredict([]byte(body), fastCodecs(imageSignature()))
		if !ok {
			t.Errorf("fast path refused %.60q", body)
			continue
		}
		want, err := decodePredictRequest([]byte(body), fastCodecs(imageSignature()))
		if err != nil {
			t.Fatalf("general decoder: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%.60q: fast %+v, general %+v", body, got, want)
		}
	}
	got, ok := fastPredict([]byte(`{"instances":["hello","wörld"]}`), fastCodecs(textSignature()))
	if ok {
		t.Errorf("non-ASCII text should be left to the general decoder, got %+v", got)
	}
	got, ok = fastPredict([]byte(`{"instances":["hello","world"]}`), fastCodecs(textSignature()))
	if !ok || string(got.inputs["text"].Strings[1]) != "world" || got.batch != 2 {
		t.Errorf("plain strings: got %+v, %v", got, ok)
	}
}

// TestFastPredictLeavesTheRest: bodies the fast path does not fully
// understand, or that are wrong, go to the general decoder (which words the
// error), instead of being half-read.
func TestFastPredictLeavesTheRest(t *testing.T) {
	png := b64(pngMagic)
	bodies := map[string]string{
		"empty list":          `{"instances":[]}`,
		"both formats":        `{"instances":[{"b64":"` + png + `"}],"inputs":[{"b64":"` + png + `"}]}`,
		"named input":         `{"instances":[{"image_bytes":{"b64":"` + png + `"}}]}`,
		"escaped slash":       `{"instances":[{"b64":"` + strings.ReplaceAll(b64(jpegMagic), "/", `\/`) + `"}]}`,
		"bad base64":          `{"instances":[{"b64":"abc$"}]}`,
		"not an image":        `{"instances":[{"b64":"` + b64("hello") + `"}]}`,
		"text for image":      `{"instances":["/tmp/cat.jpg"]}`,
		"trailing data":       `{"instances":[{"b64":"` + png + `"}]} x`,
		"trailing comma":      `{"instances":[{"b64":"` + png + `"},]}`,
		"unknown field":       `{"instances":[{"b64":"` + png + `"}],"model":"x"}`,
		"duplicate name":      `{"signature_name":"a","signature_name":"b","instances":[{"b64":"` + png + `"}]}`,
		"null name":           `{"signature_name":null,"instances":[{"b64":"` + png + `"}]}`,
		"nested list":         `{"instances":[[{"b64":"` + png + `"}]]}`,
		"extra key in binary": `{"instances":[{"b64":"` + png + `","x":1}]}`,
		"unterminated":        `{"instances":[{"b64":"` + png,
		"upper-case key":      `{"Instances":[{"b64":"` + png + `"}]}`,
	}
	for name, body := range bodies {
		if got, ok := fastPredict([]byte(body), fastCodecs(imageSignature())); ok {
			t.Errorf("%s: fast path took %q: %+v", name, body, got)
		}
	}
	if _, ok := fastPredict([]byte(`{"instances":[{"b64":"`+png+`"}]}`), fastCodecs(numericSignature())); ok {
		t.Error("fast path took a body for a numeric signature")
	}
}

// FuzzFastPredictAgrees: whenever the fast path accepts a body, the general
// decoder accepts it too and decodes exactly the same request.
func FuzzFastPredictAgrees(f *testing.F) {
	png, jpg := b64(pngMagic), b64(jpegMagic)
	for _, s := range []string{
		`{"instances":[{"b64":"` + png + `"}]}`,
		`{"signature_name":"serving_default","inputs":[{"b64":"` + jpg + `"},{"b64":"` + png + `"}]}`,
		`{"instances":["a","b"]}`,
		fmt.Sprintf(`{"instances":[{"b64":%q}]}`, base64.StdEncoding.EncodeToString([]byte("x"))),
	} {
		f.Add(s)
	}
	sigs := []serving.Signature{imageSignature(), textSignature()}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sig := range sigs {
			got, ok := fastPredict([]byte(body), fastCodecs(sig))
			if !ok {
				continue
			}
			want, err := decodePredictRequest([]byte(body), fastCodecs(sig))
			if err != nil {
				t.Fatalf("fast path accepted %q, general decoder: %v", body, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: fast %+v, general %+v", body, got, want)
			}
		}
	})
}

// BenchmarkReadPredictRequest decodes the benchmark's small-model body: one
// 96x96 JPEG as {"instances":[{"b64": ...}]}.
func BenchmarkReadPredictRequest(b *testing.B) {
	body := `{"instances":[{"b64":"` + b64(string(encodeImage("jpeg", 96, 96))) + `"}]}`
	sig := imageSignature()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readPredictRequest(strings.NewReader(body), sig, limits{1 << 20, DefaultMaxImagePixels, DefaultMaxImages}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadV2Request decodes the same image as a KServe v2 body, JSON
// (base64 BYTES) and binary (Triton's binary tensor extension).
func BenchmarkReadV2Request(b *testing.B) {
	img := encodeImage("jpeg", 96, 96)
	jsonBody := []byte(`{"inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[1],"data":["` + b64(string(img)) + `"]}]}`)
	header := []byte(fmt.Sprintf(`{"inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":%d}}]}`, 4+len(img)))
	binBody := append(append(append([]byte{}, header...), byte(len(img)), byte(len(img)>>8), 0, 0), img...)
	sig := imageSignature()
	for _, c := range []struct {
		name      string
		body      []byte
		headerLen int
	}{{"json", jsonBody, len(jsonBody)}, {"binary", binBody, len(header)}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := readV2Request(c.body, c.headerLen, sig, limits{1 << 20, DefaultMaxImagePixels, DefaultMaxImages}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAppendPlainStrings(t *testing.T) {
	png := b64(pngMagic)
	image := fastCodecs(imageSignature())[0]
	tests := []struct {
		data string
		n    int64
		want bool
	}{
		{`["` + png + `", "` + png + `"]`, 2, true},
		{` [ "` + png + `" ] `, 1, true},
		{`["` + png + `"]`, 2, false}, // fewer than the shape says
		{`[["` + png + `"]]`, 1, false},
		{`["` + b64("not an image") + `"]`, 1, false},
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
	png := b64(pngMagic)
	f.Add(`["`+png+`"]`, uint8(1), "")
	f.Add(`["`+png+`", "`+b64(jpegMagic)+`"]`, uint8(2), "base64")
	f.Add(`["hello", "world"]`, uint8(2), "str")
	sigs := []serving.Signature{imageSignature(), textSignature()}
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
