package tfserving_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imgclf/serving/internal/protocol/tfserving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestCard(t *testing.T) {
	reg := registry.New()
	card := json.RawMessage(`{"evaluation":{"accuracy":0.975},"created_at":"2026-12-01T10:00:00Z"}`)
	reg.Publish("imgclf", 1, registry.Loaded{Model: servingtest.NewImageModel()})
	reg.Publish("imgclf", 2, registry.Loaded{Model: servingtest.NewImageModel(), Card: card})
	reg.SetVersionLabels("imgclf", map[string]int64{"stable": 1})
	_, url := servertest.Start(t, nil, server.Options{Registry: reg})

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
		status, body, _ := servertest.Do(t, "GET", url+tt.path, "")
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %s; want %d containing %s", tt.path, status, body, tt.status, tt.want)
		}
	}
	status, body, _ := servertest.Do(t, "GET", url+"/v1/models/imgclf/versions/2/card", "")
	var got tfserving.CardResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 {
		t.Fatalf("card: %d %s (%v)", status, body, err)
	}
	if got.Name != "imgclf" || got.Version != "2" || string(got.Card) != string(card) {
		t.Errorf("card = %+v; want the metadata.json bytes unchanged", got)
	}
	if status, _, h := servertest.Do(t, "POST", url+"/v1/models/imgclf/card", "{}"); status != 405 || h.Get("Allow") != "GET" {
		t.Errorf("POST card = %d Allow %q; want 405 Allow GET", status, h.Get("Allow"))
	}
}
