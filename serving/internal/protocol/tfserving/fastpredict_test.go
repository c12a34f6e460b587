package tfserving

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/servingtest"
)

func fastCodecs(sig serving.Signature) []inputCodec {
	return inputCodecs(sig, imagecheck.DefaultMaxPixels)
}

// TestFastPredictTakesCommonBodies: the bodies clients send (as TF
// Serving's documentation writes them, as json.dumps and JSON.stringify
// write them, pretty-printed) take the fast path and decode to what the
// general decoder makes of them.
func TestFastPredictTakesCommonBodies(t *testing.T) {
	png, jpg := servingtest.B64(servingtest.PNG), servingtest.B64(servingtest.JPEG)
	bodies := []string{
		`{"instances":[{"b64":"` + png + `"}]}`,
		`{"instances": [{"b64": "` + png + `"}, {"b64": "` + jpg + `"}]}`,
		`{"signature_name": "serving_default", "instances": [{"b64": "` + jpg + `"}]}`,
		`{"instances": [{"b64": "` + jpg + `"}], "signature_name": "other"}`,
		`{"inputs": [{"b64": "` + png + `"}, {"b64": "` + png + `"}]}`,
		"{\n  \"instances\": [\n    {\n      \"b64\": \"" + png + "\"\n    }\n  ]\n}\n",
	}
	for _, body := range bodies {
		got, ok := fastPredict([]byte(body), fastCodecs(servingtest.ImageSignature()))
		if !ok {
			t.Errorf("fast path refused %.60q", body)
			continue
		}
		want, err := decodePredictRequest([]byte(body), fastCodecs(servingtest.ImageSignature()))
		if err != nil {
			t.Fatalf("general decoder: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%.60q: fast %+v, general %+v", body, got, want)
		}
	}
	got, ok := fastPredict([]byte(`{"instances":["hello","wörld"]}`), fastCodecs(servingtest.TextSignature()))
	if ok {
		t.Errorf("non-ASCII text should be left to the general decoder, got %+v", got)
	}
	got, ok = fastPredict([]byte(`{"instances":["hello","world"]}`), fastCodecs(servingtest.TextSignature()))
	if !ok || string(got.inputs["text"].Strings[1]) != "world" || got.batch != 2 {
		t.Errorf("plain strings: got %+v, %v", got, ok)
	}
}

// TestFastPredictLeavesTheRest: bodies the fast path does not fully
// understand, or that are wrong, go to the general decoder (which words the
// error), instead of being half-read.
func TestFastPredictLeavesTheRest(t *testing.T) {
	png := servingtest.B64(servingtest.PNG)
	bodies := map[string]string{
		"empty list":          `{"instances":[]}`,
		"both formats":        `{"instances":[{"b64":"` + png + `"}],"inputs":[{"b64":"` + png + `"}]}`,
		"named input":         `{"instances":[{"image_bytes":{"b64":"` + png + `"}}]}`,
		"escaped slash":       `{"instances":[{"b64":"` + strings.ReplaceAll(servingtest.B64(servingtest.JPEG), "/", `\/`) + `"}]}`,
		"bad base64":          `{"instances":[{"b64":"abc$"}]}`,
		"not an image":        `{"instances":[{"b64":"` + servingtest.B64("hello") + `"}]}`,
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
		if got, ok := fastPredict([]byte(body), fastCodecs(servingtest.ImageSignature())); ok {
			t.Errorf("%s: fast path took %q: %+v", name, body, got)
		}
	}
	if _, ok := fastPredict([]byte(`{"instances":[{"b64":"`+png+`"}]}`), fastCodecs(servingtest.NumericSignature())); ok {
		t.Error("fast path took a body for a numeric signature")
	}
}

// FuzzFastPredictAgrees: whenever the fast path accepts a body, the general
// decoder accepts it too and decodes exactly the same request.
func FuzzFastPredictAgrees(f *testing.F) {
	png, jpg := servingtest.B64(servingtest.PNG), servingtest.B64(servingtest.JPEG)
	for _, s := range []string{
		`{"instances":[{"b64":"` + png + `"}]}`,
		`{"signature_name":"serving_default","inputs":[{"b64":"` + jpg + `"},{"b64":"` + png + `"}]}`,
		`{"instances":["a","b"]}`,
		fmt.Sprintf(`{"instances":[{"b64":%q}]}`, base64.StdEncoding.EncodeToString([]byte("x"))),
	} {
		f.Add(s)
	}
	sigs := []serving.Signature{servingtest.ImageSignature(), servingtest.TextSignature()}
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
	body := `{"instances":[{"b64":"` + servingtest.B64(string(servingtest.EncodeImage("jpeg", 96, 96))) + `"}]}`
	sig := servingtest.ImageSignature()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readPredictRequest(strings.NewReader(body), sig, limits{1 << 20, imagecheck.DefaultMaxPixels}); err != nil {
			b.Fatal(err)
		}
	}
}
