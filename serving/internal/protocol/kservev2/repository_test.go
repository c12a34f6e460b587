package kservev2_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/protocol/kservev2"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestRepositoryIndex(t *testing.T) {
	reg := registry.New()
	reg.Publish("imgclf", 1, registry.Loaded{Model: servingtest.NewImageModel()})
	reg.Set("imgclf", 2, registry.StateLoading, nil, nil)
	reg.Set("broken", 3, registry.StateEnd, nil, serving.Errorf(serving.Invalid, "saved_model.pb does not parse"))
	reg.AddModel("empty")
	reg.SetVersionLabels("imgclf", map[string]int64{"stable": 1, "canary": 1})
	_, url := servertest.Start(t, nil, server.Options{Registry: reg})

	status, body, _ := servertest.Do(t, "POST", url+"/v2/repository/index", "")
	var rows []kservev2.RepositoryEntry
	if err := json.Unmarshal([]byte(body), &rows); err != nil || status != 200 {
		t.Fatalf("index: %d %s (%v)", status, body, err)
	}
	byKey := map[string]kservev2.RepositoryEntry{}
	for _, r := range rows {
		byKey[r.Name+"/"+r.Version] = r
	}
	if r := byKey["imgclf/1"]; r.State != "READY" || strings.Join(r.Labels, ",") != "canary,stable" {
		t.Errorf("imgclf/1 = %+v; want READY with labels canary,stable", r)
	}
	if r := byKey["imgclf/2"]; r.State != "LOADING" {
		t.Errorf("imgclf/2 = %+v; want LOADING", r)
	}
	if r := byKey["broken/3"]; r.State != "UNAVAILABLE" || !strings.Contains(r.Reason, "does not parse") {
		t.Errorf("broken/3 = %+v; want UNAVAILABLE with the load error", r)
	}
	if r := byKey["empty/"]; r.State != "UNAVAILABLE" || r.Reason == "" {
		t.Errorf("empty = %+v; want UNAVAILABLE with a reason", r)
	}
	if len(rows) != 4 {
		t.Errorf("index has %d rows; want 4: %s", len(rows), body)
	}

	if _, body, _ := servertest.Do(t, "POST", url+"/v2/repository/index", `{"ready": true}`); body != `[{"name":"imgclf","version":"1","state":"READY","labels":["canary","stable"]}]` {
		t.Errorf("ready index = %s", body)
	}
	if status, body, _ := servertest.Do(t, "GET", url+"/v2/repository/index", ""); status != 200 || !strings.Contains(body, `"LOADING"`) {
		t.Errorf("GET index = %d %s", status, body)
	}
	for _, bad := range []struct {
		method, body string
		status       int
	}{
		{"POST", `{"ready": "yes"}`, 400},
		{"POST", `[`, 400},
		{"POST", `{"ready": true}` + strings.Repeat(" ", kservev2.MaxIndexRequestBytes), 413},
		{"PUT", `{}`, 405},
	} {
		if status, body, _ := servertest.Do(t, bad.method, url+"/v2/repository/index", bad.body); status != bad.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s index %.20q = %d %s; want %d with an error", bad.method, bad.body, status, body, bad.status)
		}
	}
}
