package main

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/testmodel"
)

// TestSlowClientsAreCutOff: the predictor's own server, as run builds it from
// --read-header-timeout and --read-timeout, closes a connection whose headers
// or body stall, and keeps serving. The 30 s read deadline on the client side
// only catches a server that never closes; no test here measures time.
func TestSlowClientsAreCutOff(t *testing.T) {
	fixture := testmodel.Dir(t)
	base := t.TempDir()
	versionDir(t, fixture, base, 1)
	url, _ := start(t, testConfig(t, base, "--read-header-timeout=200ms", "--read-timeout=500ms"), io.Discard)
	waitFor(t, "version 1", func() bool { s, _ := get(t, url+"/v2/health/ready"); return s == 200 })
	addr := strings.TrimPrefix(url, "http://")

	for _, tc := range []struct{ name, send string }{
		{"headers never end", "POST /v1/models/imgclf:predict HTTP/1.1\r\nHost: x\r\n"},
		{"body stops short", "POST /v1/models/imgclf:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 100000\r\n\r\n{\"instances\": ["},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			reply, err := io.ReadAll(c) // returns once the server closes the connection
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the server kept the stalled connection open (read %q)", reply)
			}
			if len(reply) > 0 && !strings.HasPrefix(string(reply), "HTTP/1.1 4") {
				t.Errorf("reply to a stalled request: %q, want none or a 4xx", reply)
			}
		})
	}
	if s, body := get(t, url+"/v1/models/imgclf"); s != 200 {
		t.Errorf("after the slow clients: %d %s", s, body)
	}
}
