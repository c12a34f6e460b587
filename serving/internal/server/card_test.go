package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imgclf/serving"
)

func TestCard(t *testing.T) {
	reg := NewRegistry()
	card := json.RawMessage(`{"evaluation":{"accuracy":0.975},"created_at":"2026-12-01T10:00:00Z"}`)
	reg.Publish("imgclf", 1, Loaded{Model: newImageModel()})
	reg.Publish("imgclf", 2, Loaded{Model: newImageModel(), Card: card})
	reg.SetVersionLabels("imgclf", map[string]int64{"stable": 1})
	_, url := testServer(t, nil, Options{Registry: reg})

	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/models/imgclf/card", 200, `"version":"2"`},
		{"/v1/models/imgclf/versions/2/card", 200, `"accuracy":0.975`},
		{"/v1/models/imgclf/versions/1/card", 404, "version 1 has no model card"},
		{"/v1/models/imgclf/labels/stable/card", 404, "has no model card"},
		{"/v1/models/imgclf/versions/7/card", 404, "no version 7"},
		{"/v1/models/nope/card", 404, `model \"nope\" not found`},
	}
	for _, tt := range tests {
		status, body, _ := do(t, "GET", url+tt.path, "")
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %s; want %d containing %s", tt.path, status, body, tt.status, tt.want)
		}
	}
	status, body, _ := do(t, "GET", url+"/v1/models/imgclf/versions/2/card", "")
	var got cardResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 {
		t.Fatalf("card: %d %s (%v)", status, body, err)
	}
	if got.Name != "imgclf" || got.Version != "2" || string(got.Card) != string(card) {
		t.Errorf("card = %+v; want the metadata.json bytes unchanged", got)
	}
	if status, _, h := do(t, "POST", url+"/v1/models/imgclf/card", "{}"); status != 405 || h.Get("Allow") != "GET" {
		t.Errorf("POST card = %d Allow %q; want 405 Allow GET", status, h.Get("Allow"))
	}
}

func TestRepositoryIndex(t *testing.T) {
	reg := NewRegistry()
	reg.Publish("imgclf", 1, Loaded{Model: newImageModel()})
	reg.Set("imgclf", 2, StateLoading, nil, nil)
	reg.Set("broken", 3, StateEnd, nil, serving.Errorf(serving.Invalid, "saved_model.pb does not parse"))
	reg.AddModel("empty")
	reg.SetVersionLabels("imgclf", map[string]int64{"stable": 1, "canary": 1})
	_, url := testServer(t, nil, Options{Registry: reg})

	status, body, _ := do(t, "POST", url+"/v2/repository/index", "")
	var rows []repositoryEntry
	if err := json.Unmarshal([]byte(body), &rows); err != nil || status != 200 {
		t.Fatalf("index: %d %s (%v)", status, body, err)
	}
	byKey := map[string]repositoryEntry{}
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

	if _, body, _ := do(t, "POST", url+"/v2/repository/index", `{"ready": true}`); body != `[{"name":"imgclf","version":"1","state":"READY","labels":["canary","stable"]}]` {
		t.Errorf("ready index = %s", body)
	}
	if status, body, _ := do(t, "GET", url+"/v2/repository/index", ""); status != 200 || !strings.Contains(body, `"LOADING"`) {
		t.Errorf("GET index = %d %s", status, body)
	}
	for _, bad := range []struct {
		method, body string
		status       int
	}{
		{"POST", `{"ready": "yes"}`, 400},
		{"POST", `[`, 400},
		{"POST", `{"ready": true}` + strings.Repeat(" ", maxIndexRequestBytes), 413},
		{"PUT", `{}`, 405},
	} {
		if status, body, _ := do(t, bad.method, url+"/v2/repository/index", bad.body); status != bad.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s index %.20q = %d %s; want %d with an error", bad.method, bad.body, status, body, bad.status)
		}
	}
}
