package kservev2

import (
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
)

func TestParseV2ModelPath(t *testing.T) {
	tests := []struct {
		path     string
		want     modelRoute
		wantCode serving.Code
	}{
		{"/v2/models/imgclf", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindMetadata}, ""},
		{"/v2/models/imgclf/versions/2", modelRoute{Model: "imgclf", Version: 2, Kind: kindMetadata}, ""},
		{"/v2/models/imgclf/ready", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindReady}, ""},
		{"/v2/models/imgclf/versions/3/infer", modelRoute{Model: "imgclf", Version: 3, Kind: kindInfer}, ""},
		{"/v2/models/infer", modelRoute{Model: "infer", Version: registry.Latest, Kind: kindMetadata}, ""},
		{"/v2/models/", modelRoute{}, serving.NotFound},
		{"/v2/models//infer", modelRoute{}, serving.NotFound},
		{"/v2/models/imgclf/versions/x/infer", modelRoute{}, serving.Invalid},
		{"/v2/models/imgclf/labels/stable/infer", modelRoute{}, serving.NotFound},
		{"/v2/models/imgclf/predict", modelRoute{}, serving.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := parseV2ModelPath(tt.path)
			if code := serving.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("parseV2ModelPath(%q) error = %v (code %q), want code %q", tt.path, err, code, tt.wantCode)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseV2ModelPath(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

// FuzzParseV2ModelPath: as FuzzParseModelPath does for /v1/models/ paths
// (package tfserving), the v2 parser never panics, every error is typed,
// and every accepted route names a model and a valid version.
func FuzzParseV2ModelPath(f *testing.F) {
	for _, s := range []string{"/v2/models/m", "/v2/models/m/versions/2/infer", "/v2/models/m/versions/1/ready", "/v2/models/::", "/v2/models//versions//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		route, err := parseV2ModelPath(path)
		if err != nil {
			if serving.ErrorCode(err) == serving.Internal {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if route.Model == "" || route.Version < registry.Latest {
			t.Fatalf("parseV2ModelPath(%q) = %+v", path, route)
		}
	})
}
