package server

import (
	"testing"

	"github.com/imgclf/serving"
)

func TestRegistryLookup(t *testing.T) {
	reg := NewRegistry()
	m1, m3 := newImageModel(), newImageModel()
	reg.Set("imgclf", 1, StateAvailable, m1, nil)
	reg.Set("imgclf", 3, StateAvailable, m3, nil)
	reg.Set("imgclf", 4, StateLoading, nil, nil)
	reg.Set("empty", 1, StateLoading, nil, nil)
	tests := []struct {
		name        string
		model       string
		version     int64
		want        serving.Model
		wantVersion int64
		wantCode    serving.Code
	}{
		{"latest skips loading", "imgclf", latestVersion, m3, 3, ""},
		{"explicit", "imgclf", 1, m1, 1, ""},
		{"loading version", "imgclf", 4, nil, 0, serving.Unavailable},
		{"missing version", "imgclf", 2, nil, 0, serving.NotFound},
		{"nothing available", "empty", latestVersion, nil, 0, serving.Unavailable},
		{"missing model", "nope", latestVersion, nil, 0, serving.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, v, err := reg.Lookup(tt.model, tt.version)
			if code := serving.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("Lookup() error = %v, want code %q", err, tt.wantCode)
			}
			if m != tt.want || v != tt.wantVersion {
				t.Errorf("Lookup() = %v, %d; want %v, %d", m, v, tt.want, tt.wantVersion)
			}
		})
	}
}

func TestRegistryClose(t *testing.T) {
	reg := NewRegistry()
	m := newImageModel()
	reg.Set("imgclf", 1, StateAvailable, m, nil)
	if !reg.Ready() {
		t.Fatal("not ready with an AVAILABLE version")
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if !m.closed.Load() {
		t.Error("model not closed")
	}
	if reg.Ready() {
		t.Error("ready after Close")
	}
	st, err := reg.Status("imgclf", 1)
	if err != nil || st[0].State != StateEnd {
		t.Errorf("Status after Close = %+v, %v; want END", st, err)
	}
	if _, _, err := reg.Lookup("imgclf", latestVersion); serving.ErrorCode(err) != serving.Unavailable {
		t.Errorf("Lookup after Close = %v, want unavailable", err)
	}
}
