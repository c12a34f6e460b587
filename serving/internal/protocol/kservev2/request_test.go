package kservev2

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/servingtest"
)

// FuzzReadV2Request: no body makes the v2 decoder panic, every failure is
// a client error, and every accepted tensor is consistent.
func FuzzReadV2Request(f *testing.F) {
	for file, n := range map[string]int{"tritonclient_binary.bin": 146, "tritonclient_json.bin": -1, "kserve_json.bin": -1, "kserve_binary.bin": 166} {
		b, err := os.ReadFile(filepath.Join("testdata", "v2clients", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, n)
	}
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4]]}]}`), -1)
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]}`+"\x00\x00\x80\x3f\x00\x00\x00\x40"), 91)
	sigs := []serving.Signature{servingtest.ImageSignature(), servingtest.NumericSignature()}
	f.Fuzz(func(t *testing.T, body []byte, headerLen int) {
		if headerLen < -1 || headerLen > len(body) {
			return
		}
		for _, sig := range sigs {
			req, err := readV2Request(body, headerLen, sig, limits{1 << 20, imagecheck.DefaultMaxPixels})
			if err != nil {
				if code := serving.ErrorCode(err); code != serving.Invalid && code != serving.TooLarge {
					t.Fatalf("error %v has code %q", err, code)
				}
				continue
			}
			for k, tensor := range req.inputs {
				if err := tensor.Validate(); err != nil {
					t.Fatalf("input %q: %v", k, err)
				}
			}
		}
	})
}

// BenchmarkReadV2Request decodes the same image as a KServe v2 body, JSON
// (base64 BYTES) and binary (Triton's binary tensor extension).
func BenchmarkReadV2Request(b *testing.B) {
	img := servingtest.EncodeImage("jpeg", 96, 96)
	jsonBody := []byte(`{"inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[1],"data":["` + servingtest.B64(string(img)) + `"]}]}`)
	header := []byte(fmt.Sprintf(`{"inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":%d}}]}`, 4+len(img)))
	binBody := append(append(append([]byte{}, header...), byte(len(img)), byte(len(img)>>8), 0, 0), img...)
	sig := servingtest.ImageSignature()
	for _, c := range []struct {
		name      string
		body      []byte
		headerLen int
	}{{"json", jsonBody, len(jsonBody)}, {"binary", binBody, len(header)}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := readV2Request(c.body, c.headerLen, sig, limits{1 << 20, imagecheck.DefaultMaxPixels}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
