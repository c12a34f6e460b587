package tfserving_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestPredict(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{})
	png, jpg := servingtest.B64(servingtest.PNG), servingtest.B64(servingtest.JPEG)
	tests := []struct {
		name string
		path string
		body string
		want string
	}{
		{
			name: "row format",
			path: "/v1/models/imgclf:predict",
			body: fmt.Sprintf(`{"instances":[{"b64":%q},{"b64":%q}]}`, png, jpg),
			want: `{"predictions":[{"class_id":1,"label":"png","probabilities":[0.1,0.9]},{"class_id":0,"label":"other","probabilities":[0.9,0.1]}]}`,
		},
		{
			name: "row format, named instance, explicit version and signature",
			path: "/v1/models/imgclf/versions/1:predict",
			body: fmt.Sprintf(`{"signature_name":"serving_default","instances":[{"image_bytes":{"b64":%q}}]}`, png),
			want: `{"predictions":[{"class_id":1,"label":"png","probabilities":[0.1,0.9]}]}`,
		},
		{
			name: "columnar bare",
			path: "/v1/models/imgclf:predict",
			body: fmt.Sprintf(`{"inputs":[{"b64":%q},{"b64":%q}]}`, jpg, png),
			want: `{"outputs":{"class_id":[0,1],"label":["other","png"],"probabilities":[[0.9,0.1],[0.1,0.9]]}}`,
		},
		{
			name: "columnar named",
			path: "/v1/models/imgclf:predict",
			body: fmt.Sprintf(`{"inputs":{"image_bytes":[{"b64":%q}]}}`, png),
			want: `{"outputs":{"class_id":[1],"label":["png"],"probabilities":[[0.1,0.9]]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := servertest.Do(t, http.MethodPost, url+tt.path, tt.body)
			if status != http.StatusOK || body != tt.want {
				t.Errorf("got %d %s\nwant 200 %s", status, body, tt.want)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestPredictErrors(t *testing.T) {
	model := servingtest.NewImageModel()
	_, url := servertest.Start(t, model, server.Options{MaxBodyBytes: 1024})
	png := servingtest.B64(servingtest.PNG)
	predict := "/v1/models/imgclf:predict"
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantError  string // the whole "error" message, or a prefix ending in "…"
	}{
		{"bad JSON", "POST", predict, `{"instances":[`, 400, "invalid JSON body: unexpected EOF"},
		{"trailing data", "POST", predict, `{"instances":[{"b64":"` + png + `"}]} {}`, 400, "invalid JSON body: unexpected data after the top-level object"},
		{"unknown field", "POST", predict, `{"instance":[]}`, 400, `unknown field "instance" in the request body; expected "instances" (row format) or "inputs" (columnar format)`},
		{"neither format", "POST", predict, `{}`, 400, `the body needs exactly one of "instances" (row format) or "inputs" (columnar format)`},
		{"both formats", "POST", predict, `{"instances":[],"inputs":[]}`, 400, `the body needs exactly one of "instances" (row format) or "inputs" (columnar format)`},
		{"empty instances", "POST", predict, `{"instances":[]}`, 400, `"instances" is empty; send at least one`},
		{"instances not a list", "POST", predict, `{"instances":{"b64":"x"}}`, 400, `"instances" must be a list: …`},
		{"bad base64", "POST", predict, `{"instances":[{"b64":"` + png + `"},{"b64":"` + png + `"},{"b64":"abc$def"}]}`, 400, "instances[2].b64: illegal base64 data at input byte 3"},
		{"not an image", "POST", predict, `{"instances":[{"b64":"` + png + `"},{"b64":"` + servingtest.B64("hello world") + `"}]}`, 400, "instances[1]: not a JPEG, PNG, GIF or BMP image"},
		{"plain text is not an image", "POST", predict, `{"inputs":["/tmp/cat.jpg"]}`, 400, "inputs[0]: not a JPEG, PNG, GIF or BMP image"},
		{"number for string input", "POST", predict, `{"instances":[3]}`, 400, `instances[0]: expected a string or {"b64": "<base64>"} for input "image_bytes", got a number`},
		{"wrong object", "POST", predict, `{"instances":[{"b64":"` + png + `","x":1}]}`, 400, `instances[0]: unknown input "b64"; the signature takes ["image_bytes"]`},
		{"ragged", "POST", predict, `{"inputs":[[{"b64":"` + png + `"}],[]]}`, 400, `inputs[1]: ragged or too deep list; …`},
		{"instance shapes differ", "POST", predict, `{"instances":[[{"b64":"` + png + `"}],[]]}`, 400, `instances[1] has shape [0] but instances[0] has [1]; all instances need the same shape`},
		{"other signature", "POST", predict, `{"signature_name":"other","instances":[{"b64":"` + png + `"}]}`, 400, `signature "other" is not served; this model serves "serving_default"`},
		{"unknown model", "POST", "/v1/models/nope:predict", `{}`, 404, `model "nope" not found; this server has "imgclf"`},
		{"unknown version", "POST", "/v1/models/imgclf/versions/7:predict", `{}`, 404, `model "imgclf" has no version 7; it has versions 1`},
		{"unknown path", "GET", "/v1/nothing", ``, 404, `no such path "/v1/nothing"; see /v1/models/{name} or /v2/models/{name}`},
		{"GET predict", "GET", predict, ``, 405, "GET /v1/models/imgclf:predict is not allowed; use POST"},
		{"POST status", "POST", "/v1/models/imgclf", `{}`, 405, "POST /v1/models/imgclf is not allowed; use GET"},
		{"too large", "POST", predict, `{"instances":[{"b64":"` + strings.Repeat("A", 2000) + `"}]}`, 413, "request body is larger than 1024 bytes; send fewer or smaller images per request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := servertest.Do(t, tt.method, url+tt.path, tt.body)
			servertest.CheckError(t, status, body, tt.wantStatus, tt.wantError)
			if status == 405 && hdr.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
}

func TestPredictModelErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
	}{
		{"tensorflow invalid argument", serving.Errorf(serving.Invalid, "Unknown image file format"), 400},
		{"closed model", serving.Errorf(serving.Unavailable, "model is closed"), 503},
		{"unexpected", fmt.Errorf("session exploded"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := servingtest.NewImageModel()
			m.PredictFunc = func(map[string]*serving.Tensor) (map[string]*serving.Tensor, error) { return nil, tt.err }
			_, url := servertest.Start(t, m, server.Options{})
			status, body, _ := servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", `{"instances":[{"b64":"`+servingtest.B64(servingtest.PNG)+`"}]}`)
			servertest.CheckError(t, status, body, tt.wantStatus, tt.err.Error())
		})
	}
}

func TestPredictUnsplittableOutput(t *testing.T) {
	m := servingtest.NewImageModel()
	m.PredictFunc = func(map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
		return map[string]*serving.Tensor{"total": {DType: serving.DTFloat, Float32: []float32{1}}}, nil
	}
	_, url := servertest.Start(t, m, server.Options{})
	png := servingtest.B64(servingtest.PNG)
	status, body, _ := servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", `{"instances":[{"b64":"`+png+`"}]}`)
	servertest.CheckError(t, status, body, 400, `output "total" has shape [], which does not split into 1 instances; …`)
	// Columnar format returns it whole, as a bare value for a single output.
	status, body, _ = servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", `{"inputs":[{"b64":"`+png+`"}]}`)
	if status != 200 || body != `{"outputs":1}` {
		t.Errorf("columnar: got %d %s", status, body)
	}
}

func TestPredictMalformedOutput(t *testing.T) {
	m := servingtest.NewImageModel()
	m.PredictFunc = func(map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
		return map[string]*serving.Tensor{"p": {DType: serving.DTFloat, Shape: []int64{1, 3}, Float32: []float32{1}}}, nil
	}
	_, url := servertest.Start(t, m, server.Options{})
	status, body, _ := servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", `{"instances":[{"b64":"`+servingtest.B64(servingtest.PNG)+`"}]}`)
	servertest.CheckError(t, status, body, 500, `model output "p": shape [1 3] needs 3 values, got 1`)
}

// TestOverloadedIs429 checks the status mapping and Retry-After.
func TestOverloadedIs429(t *testing.T) {
	m := servingtest.NewImageModel()
	m.PredictFunc = func(map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
		return nil, serving.Errorf(serving.Overloaded, "128 requests are already queued")
	}
	_, url := servertest.Start(t, m, server.Options{})
	status, body, hdr := servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", `{"instances":[{"b64":"`+base64.StdEncoding.EncodeToString([]byte(servingtest.PNG))+`"}]}`)
	if status != 429 || hdr.Get("Retry-After") != "1" || !strings.Contains(body, "queued") {
		t.Errorf("got %d %s Retry-After=%q", status, body, hdr.Get("Retry-After"))
	}
}
