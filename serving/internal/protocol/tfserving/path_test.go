package tfserving

import (
	"strings"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
)

func TestParseModelPath(t *testing.T) {
	tests := []struct {
		path     string
		want     modelRoute
		wantCode serving.Code
	}{
		{"/v1/models/imgclf", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindStatus}, ""},
		{"/v1/models/imgclf/versions/3", modelRoute{Model: "imgclf", Version: 3, Kind: kindStatus}, ""},
		{"/v1/models/imgclf/metadata", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindMetadata}, ""},
		{"/v1/models/imgclf/versions/12/metadata", modelRoute{Model: "imgclf", Version: 12, Kind: kindMetadata}, ""},
		{"/v1/models/imgclf/card", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindCard}, ""},
		{"/v1/models/imgclf/versions/3/card", modelRoute{Model: "imgclf", Version: 3, Kind: kindCard}, ""},
		{"/v1/models/imgclf/labels/stable/card", modelRoute{Model: "imgclf", Version: registry.Latest, Label: "stable", Kind: kindCard}, ""},
		{"/v1/models/card", modelRoute{Model: "card", Version: registry.Latest, Kind: kindStatus}, ""},
		{"/v1/models/imgclf/card:predict", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf:predict", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindPredict}, ""},
		{"/v1/models/imgclf/versions/0:predict", modelRoute{Model: "imgclf", Version: 0, Kind: kindPredict}, ""},
		{"/v1/models/metadata", modelRoute{Model: "metadata", Version: registry.Latest, Kind: kindStatus}, ""},
		{"/v1/models/a.b-c_d:predict", modelRoute{Model: "a.b-c_d", Version: registry.Latest, Kind: kindPredict}, ""},
		{"/v1/models/", modelRoute{}, serving.NotFound},
		{"/v1/models/:predict", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf/versions/x", modelRoute{}, serving.Invalid},
		{"/v1/models/imgclf/versions/-1", modelRoute{}, serving.Invalid},
		{"/v1/models/imgclf/versions/", modelRoute{}, serving.Invalid},
		{"/v1/models/imgclf/labels/stable:predict", modelRoute{Model: "imgclf", Version: registry.Latest, Label: "stable", Kind: kindPredict}, ""},
		{"/v1/models/imgclf/labels/", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf:classify", modelRoute{Model: "imgclf", Version: registry.Latest, Kind: kindClassify}, ""},
		{"/v1/models/imgclf/versions/2:classify-image", modelRoute{Model: "imgclf", Version: 2, Kind: kindClassifyImage}, ""},
		{"/v1/models/imgclf:regress", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf:explode", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf/metadata:predict", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf/versions/1/extra", modelRoute{}, serving.NotFound},
		{"/v1/models/imgclf/", modelRoute{}, serving.NotFound},
		{"/v2/models/imgclf", modelRoute{}, serving.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := parseModelPath(tt.path)
			if code := serving.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("parseModelPath(%q) error = %v (code %q), want code %q", tt.path, err, code, tt.wantCode)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseModelPath(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
}

func FuzzParseModelPath(f *testing.F) {
	for _, s := range []string{"/v1/models/m", "/v1/models/m/versions/2:predict", "/v1/models/m/versions/1/metadata", "/v1/models/::", "/v1/models//versions//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		route, err := parseModelPath(path)
		if err != nil {
			if serving.ErrorCode(err) == serving.Internal {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if route.Model == "" || strings.ContainsAny(route.Model, "/") || route.Version < registry.Latest {
			t.Fatalf("parseModelPath(%q) = %+v", path, route)
		}
	})
}
