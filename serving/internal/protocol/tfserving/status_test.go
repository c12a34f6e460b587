package tfserving_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestStatusAndMetadata(t *testing.T) {
	reg := registry.New()
	reg.Set("imgclf", 1, registry.StateAvailable, servingtest.NewImageModel(), nil)
	reg.Set("imgclf", 2, registry.StateEnd, nil, errors.New("loading failed: no variables"))
	_, url := servertest.Start(t, nil, server.Options{Registry: reg})

	v1 := `{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}`
	v2 := `{"version":"2","state":"END","status":{"error_code":"UNKNOWN","error_message":"loading failed: no variables"}}`
	meta := `{"model_spec":{"name":"imgclf","signature_name":"","version":"1"},"metadata":{"signature_def":{"signature_def":{"serving_default":{` +
		`"inputs":{"image_bytes":{"dtype":"DT_STRING","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"serving_default_image_bytes:0"}},` +
		`"outputs":{"class_id":{"dtype":"DT_INT64","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"StatefulPartitionedCall:0"},` +
		`"label":{"dtype":"DT_STRING","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"StatefulPartitionedCall:1"},` +
		`"probabilities":{"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":"-1","name":""},{"size":"2","name":""}],"unknown_rank":false},"name":"StatefulPartitionedCall:2"}},` +
		`"method_name":"tensorflow/serving/predict"}}}}}`
	tests := []struct {
		path       string
		wantStatus int
		want       string
	}{
		{"/v1/models/imgclf", 200, `{"model_version_status":[` + v2 + `,` + v1 + `]}`},
		{"/v1/models/imgclf/versions/1", 200, `{"model_version_status":[` + v1 + `]}`},
		{"/v1/models/imgclf/versions/3", 404, `{"error":"model \"imgclf\" has no version 3; it has versions 1, 2"}`},
		{"/v1/models/other", 404, `{"error":"model \"other\" not found; this server has \"imgclf\""}`},
		{"/v1/models/imgclf/metadata", 200, meta},
		{"/v1/models/imgclf/versions/1/metadata", 200, meta},
		{"/v1/models/imgclf/versions/2/metadata", 503, `{"error":"model \"imgclf\" version 2 is END, not AVAILABLE; retry later"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body, _ := servertest.Do(t, http.MethodGet, url+tt.path, "")
			if status != tt.wantStatus || body != tt.want {
				t.Errorf("got %d %s\nwant %d %s", status, body, tt.wantStatus, tt.want)
			}
		})
	}
}
