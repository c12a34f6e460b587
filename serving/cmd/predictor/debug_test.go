package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/imgclf/serving/internal/servingtest"
)

// TestDebugServer: --debug-addr serves the profiler on its own port, and
// the public port does not.
func TestDebugServer(t *testing.T) {
	var logs servingtest.SyncBuffer
	url, _ := start(t, testConfig(t, t.TempDir(), "--debug-addr=127.0.0.1:0"), &logs)
	var debugAddr string
	for _, line := range strings.Split(logs.String(), "\n") {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Msg, "debug server") {
			debugAddr = entry.Addr
		}
	}
	if debugAddr == "" {
		t.Fatalf("no debug server address in the logs:\n%s", logs.String())
	}
	status, body := get(t, "http://"+debugAddr+"/debug/pprof/goroutine?debug=1")
	if status != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("debug port: %d %.200s", status, body)
	}
	if status, _ := get(t, url+"/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("public port serves /debug/pprof/ with %d, want 404", status)
	}
}
