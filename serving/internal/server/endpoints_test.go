package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/imgclf/serving"
)

// bombPNG is a valid PNG header claiming w x h pixels, followed by nothing:
// DecodeConfig reads the size without decoding pixels.
func bombPNG(w, h uint32) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()[:33] // signature + IHDR chunk
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestCheckImage(t *testing.T) {
	jpg := []byte(jpegMagic)
	tests := []struct {
		name string
		in   []byte
		want serving.Code
	}{
		{"png", []byte(pngMagic), ""},
		{"jpeg", jpg, ""},
		{"text", []byte("hello"), serving.Invalid},
		{"base64 of a png", []byte(base64.StdEncoding.EncodeToString([]byte(pngMagic))), serving.Invalid},
		{"png magic only", []byte("\x89PNG\r\n\x1a\n"), serving.Invalid},
		{"truncated jpeg", jpg[:len(jpg)-20], serving.Invalid},
		{"jpeg header only", jpg[:30], serving.Invalid},
		{"decompression bomb", bombPNG(100000, 100000), serving.TooLarge},
		{"zero width", bombPNG(0, 10), serving.Invalid},
		{"bmp", append([]byte("BM"), make([]byte, 24)...), serving.Invalid}, // 0x0
		{"short bmp", []byte("BM12"), serving.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkImage(tt.in, 1_000_000)
			if code := serving.ErrorCode(err); code != tt.want {
				t.Errorf("checkImage = %v (code %q), want code %q", err, code, tt.want)
			}
		})
	}
}

// v2Body builds a JSON infer request for the image model.
func v2Body(inputs ...any) string {
	b, _ := json.Marshal(map[string]any{"inputs": inputs})
	return string(b)
}

func TestV2(t *testing.T) {
	_, url := testServer(t, newImageModel(), Options{MaxBodyBytes: 4096, ServerVersion: "test"})
	png64 := base64.StdEncoding.EncodeToString([]byte(pngMagic))
	img := map[string]any{"name": "image_bytes", "datatype": "BYTES", "shape": []int{2}, "data": []string{png64, png64}}
	probs := `{"name":"probabilities","datatype":"FP32","shape":[2,2],"data":[0.1,0.9,0.1,0.9]}`
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		want                     string // substring of the reply
	}{
		{"server metadata", "GET", "/v2", "", 200, `{"name":"imgclf-predictor","version":"test","extensions":["binary_tensor_data","classification"]}`},
		{"model metadata", "GET", "/v2/models/imgclf", "", 200, `{"name":"imgclf","versions":["1"],"platform":"tensorflow_savedmodel","inputs":[{"name":"image_bytes","datatype":"BYTES","shape":[-1]}]`},
		{"version ready", "GET", "/v2/models/imgclf/versions/1/ready", "", 200, `{"name":"imgclf","ready":true}`},
		{"unknown model ready", "GET", "/v2/models/nope/ready", "", 404, `model \"nope\" not found`},
		{"unknown version", "GET", "/v2/models/imgclf/versions/7", "", 404, `has no version 7`},
		{"infer", "POST", "/v2/models/imgclf/infer", v2Body(img), 200, probs},
		{"infer with id and one output", "POST", "/v2/models/imgclf/versions/1/infer",
			`{"id":"x","inputs":[` + mustJSON(img) + `],"outputs":[{"name":"label"}]}`, 200,
			`{"model_name":"imgclf","model_version":"1","id":"x","outputs":[{"name":"label","datatype":"BYTES","shape":[2],"data":["png","png"]}]}`},
		{"classification extension", "POST", "/v2/models/imgclf/infer",
			`{"inputs":[` + mustJSON(img) + `],"outputs":[{"name":"probabilities","parameters":{"classification":1}}]}`, 200,
			`"data":["0.9:1:png","0.9:1:png"]`},
		{"infer GET", "GET", "/v2/models/imgclf/infer", "", 405, "use POST"},
		{"malformed JSON", "POST", "/v2/models/imgclf/infer", `{"inputs":[`, 400, "invalid JSON"},
		{"no inputs", "POST", "/v2/models/imgclf/infer", `{"inputs":[]}`, 400, `\"inputs\" is empty`},
		{"unknown input", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "x", "datatype": "BYTES", "shape": []int{1}, "data": []string{"a"}}), 400, `unknown input \"x\"`},
		{"wrong datatype", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "image_bytes", "datatype": "FP32", "shape": []int{1}, "data": []float64{1}}), 400, `datatype \"FP32\" does not match the model's BYTES`},
		{"wrong shape", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "image_bytes", "datatype": "BYTES", "shape": []int{1, 1}, "data": []string{png64}}), 400, "does not match the model's [-1]"},
		{"count mismatch", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "image_bytes", "datatype": "BYTES", "shape": []int{3}, "data": []string{png64}}), 400, "holds 1 elements; shape [3] needs 3"},
		{"empty batch", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "image_bytes", "datatype": "BYTES", "shape": []int{0}, "data": []string{}}), 400, "empty"},
		{"not an image", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "image_bytes", "datatype": "BYTES", "shape": []int{1}, "data": []string{"hello"}}), 400, "not an image"},
		{"huge shape", "POST", "/v2/models/imgclf/infer", v2Body(map[string]any{"name": "image_bytes", "datatype": "BYTES", "shape": []int{1 << 40}, "data": []string{png64}}), 400, "more elements than"},
		{"unknown output", "POST", "/v2/models/imgclf/infer", `{"inputs":[` + mustJSON(img) + `],"outputs":[{"name":"nope"}]}`, 400, `unknown output \"nope\"`},
		{"oversized body", "POST", "/v2/models/imgclf/infer", `{"inputs":[{"name":"image_bytes","data":["` + strings.Repeat("A", 5000) + `"]}]}`, 413, "larger than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, tt.method, url+tt.path, tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s\nwant %d ...%s...", status, body, tt.wantStatus, tt.want)
			}
		})
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestV2Binary sends Triton's binary tensor format and reads the binary
// reply, as tritonclient.http does by default.
func TestV2Binary(t *testing.T) {
	_, url := testServer(t, newImageModel(), Options{})
	header := `{"inputs":[{"name":"image_bytes","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":` +
		fmt.Sprint(4+len(pngMagic)) + `}}],"parameters":{"binary_data_output":true}}`
	body := []byte(header)
	body = binary.LittleEndian.AppendUint32(body, uint32(len(pngMagic)))
	body = append(body, pngMagic...)
	req, _ := http.NewRequest("POST", url+"/v2/models/imgclf/infer", bytes.NewReader(body))
	req.Header.Set(headerLengthHeader, fmt.Sprint(len(header)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var n int
	fmt.Sscan(resp.Header.Get(headerLengthHeader), &n)
	if resp.StatusCode != 200 || n == 0 || n > len(b) {
		t.Fatalf("binary infer = %d %q", resp.StatusCode, b)
	}
	want := `{"model_name":"imgclf","model_version":"1","outputs":[{"name":"class_id","datatype":"INT64","shape":[1],"parameters":{"binary_data_size":8}},` +
		`{"name":"label","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}},{"name":"probabilities","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]}`
	if string(b[:n]) != want {
		t.Errorf("header = %s\nwant     %s", b[:n], want)
	}
	if tail := b[n:]; len(tail) != 23 || binary.LittleEndian.Uint64(tail) != 1 || string(tail[12:15]) != "png" {
		t.Errorf("binary tail = %q", tail)
	}

	for name, tc := range map[string]struct{ hdr, body string }{
		"length past the body":     {"999", header},
		"size past the data":       {fmt.Sprint(len(header)), header + "\x01\x00"},
		"element longer than data": {fmt.Sprint(len(header)), header + "\xff\x00\x00\x00" + strings.Repeat("x", len(pngMagic))},
	} {
		req, _ := http.NewRequest("POST", url+"/v2/models/imgclf/infer", strings.NewReader(tc.body))
		req.Header.Set(headerLengthHeader, tc.hdr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
}

// TestV2ClientCaptures replays bodies captured from tritonclient and the
// kserve client (testdata/v2clients).
// TestV2ClientCaptures replays requests captured from tritonclient and the
// kserve client (one PNG each) and decodes the whole answer, JSON or binary:
// the request id echoed, every output with its datatype, shape and the fake
// model's values for a PNG.
func TestV2ClientCaptures(t *testing.T) {
	_, url := testServer(t, newImageModel(), Options{})
	for file, headerLen := range map[string]string{"tritonclient_binary.bin": "146", "tritonclient_json.bin": "",
		"kserve_json.bin": "", "kserve_binary.bin": "166"} {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "v2clients", file))
			if err != nil {
				t.Fatal(err)
			}
			var sent struct {
				ID string `json:"id"`
			}
			n := len(body)
			if headerLen != "" {
				n, _ = strconv.Atoi(headerLen)
			}
			if err := json.Unmarshal(body[:n], &sent); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("POST", url+"/v2/models/imgclf/infer", bytes.NewReader(body))
			if headerLen != "" {
				req.Header.Set(headerLengthHeader, headerLen)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			id, outputs := decodeV2Answer(t, b, resp.Header.Get(headerLengthHeader))
			if id != sent.ID {
				t.Errorf("id %q, the request's is %q", id, sent.ID)
			}
			want := map[string]string{
				"probabilities": "FP32 [1 2] [0.1 0.9]",
				"class_id":      "INT64 [1] [1]",
				"label":         "BYTES [1] [png]",
			}
			if !reflect.DeepEqual(outputs, want) {
				t.Errorf("outputs %v, want %v", outputs, want)
			}
		})
	}
}

// decodeV2Answer reads a v2 infer answer, with or without the binary tensor
// extension, into its id and "DATATYPE [shape] [values]" per output.
func decodeV2Answer(t *testing.T, b []byte, headerLen string) (string, map[string]string) {
	t.Helper()
	n := len(b)
	if headerLen != "" {
		n, _ = strconv.Atoi(headerLen)
	}
	var header struct {
		ID      string `json:"id"`
		Outputs []struct {
			Name, Datatype string
			Shape          []int
			Data           []any
			Parameters     struct {
				Size int `json:"binary_data_size"`
			}
		}
	}
	if err := json.Unmarshal(b[:n], &header); err != nil {
		t.Fatalf("answer header: %v: %s", err, b[:n])
	}
	out, rest := map[string]string{}, b[n:]
	for _, o := range header.Outputs {
		values := o.Data
		if o.Parameters.Size > 0 {
			raw := rest[:o.Parameters.Size]
			rest = rest[o.Parameters.Size:]
			values = nil
			for len(raw) > 0 {
				switch o.Datatype {
				case "FP32":
					values = append(values, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw))))
					raw = raw[4:]
				case "INT64":
					values = append(values, float64(int64(binary.LittleEndian.Uint64(raw))))
					raw = raw[8:]
				case "BYTES":
					size := binary.LittleEndian.Uint32(raw)
					values = append(values, string(raw[4:4+size]))
					raw = raw[4+size:]
				default:
					t.Fatalf("output %s: datatype %s", o.Name, o.Datatype)
				}
			}
		}
		var text []string
		for _, v := range values {
			if f, ok := v.(float64); ok {
				text = append(text, strconv.FormatFloat(float64(float32(f)), 'g', -1, 32))
			} else {
				text = append(text, fmt.Sprint(v))
			}
		}
		out[o.Name] = fmt.Sprintf("%s %v [%s]", o.Datatype, o.Shape, strings.Join(text, " "))
	}
	if len(rest) != 0 {
		t.Errorf("%d bytes after the last binary output", len(rest))
	}
	return header.ID, out
}

func TestClassify(t *testing.T) {
	_, url := testServer(t, newImageModel(), Options{MaxImagePixels: 100})
	png64 := base64.StdEncoding.EncodeToString([]byte(pngMagic))
	jpg64 := base64.StdEncoding.EncodeToString([]byte(jpegMagic))
	bomb := base64.StdEncoding.EncodeToString(bombPNG(20, 20))
	tests := []struct {
		name, body string
		wantStatus int
		want       string
	}{
		{"two examples", `{"examples":[{"image_bytes":{"b64":"` + png64 + `"}},{"image_bytes":{"b64":"` + jpg64 + `"}}]}`, 200,
			`{"results":[[["png",0.9],["other",0.1]],[["other",0.9],["png",0.1]]]}`},
		{"context", `{"context":{"image_bytes":{"b64":"` + png64 + `"}},"examples":[{}]}`, 200, `{"results":[[["png",0.9],["other",0.1]]]}`},
		{"no examples", `{"examples":[]}`, 400, `\"examples\" is empty`},
		{"unknown field", `{"example":[]}`, 400, `unknown field \"example\"`},
		{"wrong signature", `{"signature_name":"other","examples":[{"image_bytes":{"b64":"` + png64 + `"}}]}`, 400, `signature \"other\" is not served`},
		{"unknown feature", `{"examples":[{"pixels":[1]}]}`, 400, `unknown input \"pixels\"`},
		{"too many pixels", `{"examples":[{"image_bytes":{"b64":"` + bomb + `"}}]}`, 413, "20x20 = 400 pixels, over the limit of 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, "POST", url+"/v1/models/imgclf:classify", tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s\nwant %d ...%s...", status, body, tt.wantStatus, tt.want)
			}
		})
	}
}

func TestClassifyImage(t *testing.T) {
	_, url := testServer(t, newImageModel(), Options{MaxBodyBytes: 2048, MaxImagePixels: 1000})
	multi := func(files ...string) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("note", "ignored")
		for i, f := range files {
			w, _ := mw.CreateFormFile("image", fmt.Sprintf("f%d.png", i))
			w.Write([]byte(f))
		}
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	tests := []struct {
		name, query, contentType string
		body                     []byte
		wantStatus               int
		want                     string
	}{
		{"raw png", "", "image/png", []byte(pngMagic), 200,
			`{"model":"imgclf","version":"1","results":[{"predictions":[{"label":"png","score":0.9},{"label":"other","score":0.1}]}]}`},
		{"top 1", "?k=1", "image/jpeg", []byte(jpegMagic), 200, `"predictions":[{"label":"other","score":0.9}]}]}`},
		{"bad k", "?k=0", "image/png", []byte(pngMagic), 400, "k=\\\"0\\\""},
		{"empty body", "", "image/png", nil, 400, "body is empty"},
		{"not an image", "", "application/octet-stream", []byte("GET / HTTP/1.1"), 400, "not a JPEG, PNG, GIF or BMP"},
		{"truncated jpeg", "", "image/jpeg", []byte(jpegMagic)[:len(jpegMagic)-30], 400, "truncated"},
		{"bomb", "", "image/png", bombPNG(50000, 50000), 413, "over the limit of 1000"},
		{"oversized body", "", "image/png", append([]byte(pngMagic), make([]byte, 4096)...), 413, "larger than 2048 bytes"},
		{"unsupported type", "", "text/plain", []byte(pngMagic), 415, "text/plain"},
	}
	ct, body := multi(pngMagic, jpegMagic)
	tests = append(tests, struct {
		name, query, contentType string
		body                     []byte
		wantStatus               int
		want                     string
	}{"multipart", "?k=1", ct, body, 200, `"results":[{"filename":"f0.png","predictions":[{"label":"png","score":0.9}]},{"filename":"f1.png","predictions":[{"label":"other","score":0.9}]}]`})
	ct, body = multi()
	tests = append(tests, struct {
		name, query, contentType string
		body                     []byte
		wantStatus               int
		want                     string
	}{"multipart without files", "", ct, body, 400, "no file"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(url+"/v1/models/imgclf:classify-image"+tt.query, tt.contentType, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.want) {
				t.Errorf("got %d %s\nwant %d ...%s...", resp.StatusCode, b, tt.wantStatus, tt.want)
			}
		})
	}
}

// TestOverloadedIs429 checks the status mapping and Retry-After.
func TestOverloadedIs429(t *testing.T) {
	m := newImageModel()
	m.predict = func(map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
		return nil, serving.Errorf(serving.Overloaded, "128 requests are already queued")
	}
	_, url := testServer(t, m, Options{})
	status, body, hdr := do(t, "POST", url+"/v1/models/imgclf:predict", `{"instances":[{"b64":"`+base64.StdEncoding.EncodeToString([]byte(pngMagic))+`"}]}`)
	if status != 429 || hdr.Get("Retry-After") != "1" || !strings.Contains(body, "queued") {
		t.Errorf("got %d %s Retry-After=%q", status, body, hdr.Get("Retry-After"))
	}
}

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
	sigs := []serving.Signature{imageSignature(), numericSignature()}
	f.Fuzz(func(t *testing.T, body []byte, headerLen int) {
		if headerLen < -1 || headerLen > len(body) {
			return
		}
		for _, sig := range sigs {
			req, err := readV2Request(body, headerLen, sig, limits{1 << 20, DefaultMaxImagePixels, DefaultMaxImages})
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

// FuzzReadClassifyRequest: the :classify decoder.
func FuzzReadClassifyRequest(f *testing.F) {
	f.Add(`{"examples":[{"image_bytes":{"b64":"iVBORw0KGgo="}}]}`)
	f.Add(`{"context":{"x":[1,2]},"examples":[{}]}`)
	f.Add(`{"examples":[null]}`)
	sigs := []serving.Signature{imageSignature(), numericSignature()}
	f.Fuzz(func(t *testing.T, body string) {
		for _, sig := range sigs {
			_, inputs, err := readClassifyRequest(strings.NewReader(body), sig, limits{1 << 20, DefaultMaxImagePixels, DefaultMaxImages})
			if err != nil {
				if code := serving.ErrorCode(err); code != serving.Invalid && code != serving.TooLarge {
					t.Fatalf("error %v has code %q", err, code)
				}
				continue
			}
			for k, tensor := range inputs {
				if err := tensor.Validate(); err != nil {
					t.Fatalf("input %q: %v", k, err)
				}
			}
		}
	})
}

// FuzzCheckImage: the header check never panics and only passes images
// within the pixel limit.
func FuzzCheckImage(f *testing.F) {
	f.Add([]byte(pngMagic))
	f.Add([]byte(jpegMagic))
	f.Add(bombPNG(1<<20, 1<<20))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"))
	f.Add(append([]byte("BM"), make([]byte, 30)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := checkImage(b, 1<<20)
		if code := serving.ErrorCode(err); err != nil && code != serving.Invalid && code != serving.TooLarge {
			t.Fatalf("error %v has code %q", err, code)
		}
	})
}

// FuzzReadUploads: the :classify-image body reader (raw and multipart).
func FuzzReadUploads(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("image", "a.png")
	w.Write([]byte(pngMagic))
	mw.Close()
	f.Add(mw.FormDataContentType(), buf.Bytes())
	f.Add("image/png", []byte(pngMagic))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nabc\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		images, err := readUploads(r, bytes.NewReader(body), limits{1 << 20, DefaultMaxImagePixels, DefaultMaxImages})
		if err != nil {
			if code := serving.ErrorCode(err); code != serving.Invalid && code != serving.TooLarge && code != serving.UnsupportedMedia {
				t.Fatalf("error %v has code %q", err, code)
			}
			return
		}
		if len(images) == 0 || len(images) > DefaultMaxImages {
			t.Fatalf("no error and %d images", len(images))
		}
	})
}

// FuzzJPEGComplete: the backward search agrees with the definition, an
// EOI marker somewhere after the last SOS marker.
func FuzzJPEGComplete(f *testing.F) {
	f.Add([]byte(jpegMagic))
	f.Add([]byte(jpegMagic)[:len(jpegMagic)-2])
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
