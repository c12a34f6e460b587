package kservev2_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/imgclf/serving/internal/protocol/kservev2"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

// v2Body builds a JSON infer request for the image model.
func v2Body(inputs ...any) string {
	b, _ := json.Marshal(map[string]any{"inputs": inputs})
	return string(b)
}

func TestV2(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{MaxBodyBytes: 4096, ServerVersion: "test"})
	png64 := base64.StdEncoding.EncodeToString([]byte(servingtest.PNG))
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
			status, body, _ := servertest.Do(t, tt.method, url+tt.path, tt.body)
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
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{})
	header := `{"inputs":[{"name":"image_bytes","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":` +
		fmt.Sprint(4+len(servingtest.PNG)) + `}}],"parameters":{"binary_data_output":true}}`
	body := []byte(header)
	body = binary.LittleEndian.AppendUint32(body, uint32(len(servingtest.PNG)))
	body = append(body, servingtest.PNG...)
	req, _ := http.NewRequest("POST", url+"/v2/models/imgclf/infer", bytes.NewReader(body))
	req.Header.Set(kservev2.HeaderLengthHeader, fmt.Sprint(len(header)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var n int
	fmt.Sscan(resp.Header.Get(kservev2.HeaderLengthHeader), &n)
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
		"element longer than data": {fmt.Sprint(len(header)), header + "\xff\x00\x00\x00" + strings.Repeat("x", len(servingtest.PNG))},
	} {
		req, _ := http.NewRequest("POST", url+"/v2/models/imgclf/infer", strings.NewReader(tc.body))
		req.Header.Set(kservev2.HeaderLengthHeader, tc.hdr)
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
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{})
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
				req.Header.Set(kservev2.HeaderLengthHeader, headerLen)
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
			id, outputs := decodeV2Answer(t, b, resp.Header.Get(kservev2.HeaderLengthHeader))
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
