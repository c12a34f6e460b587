package tfserving_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestClassify(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{MaxImagePixels: 100})
	png64 := base64.StdEncoding.EncodeToString([]byte(servingtest.PNG))
	jpg64 := base64.StdEncoding.EncodeToString([]byte(servingtest.JPEG))
	bomb := base64.StdEncoding.EncodeToString(servingtest.BombPNG(20, 20))
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
			status, body, _ := servertest.Do(t, "POST", url+"/v1/models/imgclf:classify", tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s\nwant %d ...%s...", status, body, tt.wantStatus, tt.want)
			}
		})
	}
}
