package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestRegistryAcquire(t *testing.T) {
	reg := New()
	m1, m3 := servingtest.NewImageModel(), servingtest.NewImageModel()
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
		{"latest skips loading", "imgclf", Latest, m3, 3, ""},
		{"explicit", "imgclf", 1, m1, 1, ""},
		{"loading version", "imgclf", 4, nil, 0, serving.Unavailable},
		{"missing version", "imgclf", 2, nil, 0, serving.NotFound},
		{"nothing available", "empty", Latest, nil, 0, serving.Unavailable},
		{"missing model", "nope", Latest, nil, 0, serving.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease, err := reg.Acquire(tt.model, tt.version)
			if code := serving.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("Acquire() error = %v, want code %q", err, tt.wantCode)
			}
			if err != nil {
				return
			}
			defer lease.Release()
			if lease.Model != tt.want || lease.Version != tt.wantVersion {
				t.Errorf("Acquire() = %v, %d; want %v, %d", lease.Model, lease.Version, tt.want, tt.wantVersion)
			}
		})
	}
}

func TestRegistryClose(t *testing.T) {
	reg := New()
	m := servingtest.NewImageModel()
	reg.Set("imgclf", 1, StateAvailable, m, nil)
	if !reg.Ready() {
		t.Fatal("not ready with an AVAILABLE version")
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if !m.Closed.Load() {
		t.Error("model not closed")
	}
	if reg.Ready() {
		t.Error("ready after Close")
	}
	st, err := reg.Status("imgclf", 1)
	if err != nil || st[0].State != StateEnd {
		t.Errorf("Status after Close = %+v, %v; want END", st, err)
	}
	if _, err := reg.Acquire("imgclf", Latest); serving.ErrorCode(err) != serving.Unavailable {
		t.Errorf("Acquire after Close = %v, want unavailable", err)
	}
}

// TestUnloadWaitsForLeases: a version being unloaded takes no new requests,
// and its model closes only after the last lease is released.
func TestUnloadWaitsForLeases(t *testing.T) {
	reg := New()
	m := servingtest.NewImageModel()
	reg.Publish("imgclf", 1, Loaded{Model: m, Labels: []string{"cat"}})
	lease, err := reg.Acquire("imgclf", 1)
	if err != nil || lease.Labels[0] != "cat" {
		t.Fatalf("Acquire = %+v, %v", lease, err)
	}
	done := make(chan error, 1)
	go func() { done <- reg.Unload("imgclf", 1) }()
	for {
		st, _ := reg.Status("imgclf", 1)
		if st[0].State == StateUnloading {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := reg.Acquire("imgclf", Latest); serving.ErrorCode(err) != serving.Unavailable {
		t.Errorf("Acquire while unloading = %v, want unavailable", err)
	}
	if m.Closed.Load() {
		t.Fatal("model closed while a lease was held")
	}
	lease.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !m.Closed.Load() {
		t.Error("model not closed after the lease ended")
	}
}

func TestReadyNeedsEveryModel(t *testing.T) {
	reg := New()
	if reg.Ready() {
		t.Error("empty registry is ready")
	}
	reg.AddModel("a")
	reg.AddModel("b")
	reg.Publish("a", 1, Loaded{Model: servingtest.NewImageModel()})
	if reg.Ready() || fmt.Sprint(reg.NotReady()) != "[b]" {
		t.Errorf("Ready = %v, NotReady = %v; want false, [b]", reg.Ready(), reg.NotReady())
	}
	reg.Publish("b", 3, Loaded{Model: servingtest.NewImageModel()})
	if !reg.Ready() {
		t.Error("not ready with both models AVAILABLE")
	}
}

func TestEndedVersionsArePruned(t *testing.T) {
	reg := New()
	for v := int64(1); v <= 50; v++ {
		reg.Publish("m", v, Loaded{Model: servingtest.NewImageModel()})
		if v > 1 {
			if err := reg.Unload("m", v-1); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, _ := reg.Status("m", Latest)
	if len(st) != maxEndedVersions+1 || st[0].Version != 50 || st[0].State != StateAvailable {
		t.Errorf("status after 50 reloads has %d versions (newest %+v), want %d", len(st), st[0], maxEndedVersions+1)
	}
}

func TestVersionLabels(t *testing.T) {
	reg := New()
	reg.Publish("m", 1, Loaded{Model: servingtest.NewImageModel()})
	reg.SetVersionLabels("m", map[string]int64{"stable": 1})
	if v, err := reg.ResolveLabel("m", "stable"); err != nil || v != 1 {
		t.Errorf("ResolveLabel(stable) = %d, %v", v, err)
	}
	if _, err := reg.ResolveLabel("m", "canary"); serving.ErrorCode(err) != serving.NotFound {
		t.Errorf("ResolveLabel(canary) = %v, want not_found", err)
	}
}
