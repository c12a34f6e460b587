package storage

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
)

// fakeGCS starts fake-gcs-server (scripts/install_fake_gcs_server.sh puts
// it in build/tools/bin) on loopback and points STORAGE_EMULATOR_HOST at it.
// Without the binary the test skips, or fails under
// PREDICTOR_REQUIRE_TF_TESTS=1 (make test installs it first).
func fakeGCS(t *testing.T) *storage.Client {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "..", "..", "build", "tools", "bin", "fake-gcs-server")
	if _, err := os.Stat(bin); err != nil {
		msg := "no fake-gcs-server at " + bin + "; run scripts/install_fake_gcs_server.sh"
		if os.Getenv("PREDICTOR_REQUIRE_TF_TESTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	port := freePort(t)
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-backend=memory", "-scheme=http", "-host=127.0.0.1", fmt.Sprintf("-port=%d", port),
		"-public-host="+host, "-log-level=error")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/storage/v1/b")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake-gcs-server did not start on %s: %v", host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", "http://"+host)
	client, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func put(t *testing.T, c *storage.Client, bucket, name, content string) {
	t.Helper()
	w := c.Bucket(bucket).Object(name).NewWriter(context.Background())
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGCSVersionsAndFetch(t *testing.T) {
	ctx := context.Background()
	c := fakeGCS(t)
	if err := c.Bucket("models").Create(ctx, "emulator", nil); err != nil {
		t.Fatal(err)
	}
	// 1: complete; 2: claimed and half uploaded (no marker); 3: marker
	// says a file is bigger than it is; 10: complete; x: not a version.
	for _, v := range []string{"1", "10"} {
		put(t, c, "models", "zoo/imgclf/"+v+"/_CLAIMED", "{}")
		put(t, c, "models", "zoo/imgclf/"+v+"/saved_model.pb", "graph")
		put(t, c, "models", "zoo/imgclf/"+v+"/variables/variables.index", "idx")
		put(t, c, "models", "zoo/imgclf/"+v+"/assets/labels.txt", "cat\ndog\n")
		put(t, c, "models", "zoo/imgclf/"+v+"/_COMPLETE", `{"files": {"saved_model.pb": 5, "variables/variables.index": 3, "assets/labels.txt": 8}}`)
	}
	put(t, c, "models", "zoo/imgclf/2/_CLAIMED", "{}")
	put(t, c, "models", "zoo/imgclf/2/saved_model.pb", "graph")
	put(t, c, "models", "zoo/imgclf/3/saved_model.pb", "gra")
	put(t, c, "models", "zoo/imgclf/3/_COMPLETE", `{"files": {"saved_model.pb": 5}}`)
	put(t, c, "models", "zoo/imgclf/x/saved_model.pb", "graph")
	put(t, c, "models", "zoo/imgclf2/7/saved_model.pb", "other model")

	src, err := New(ctx, "gs://models/zoo/imgclf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := src.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(vs); got != "[{1 gs://models/zoo/imgclf/1} {3 gs://models/zoo/imgclf/3} {10 gs://models/zoo/imgclf/10}]" {
		t.Errorf("Versions() = %s", got)
	}

	tmp := t.TempDir()
	dir, cleanup, err := src.Fetch(ctx, vs[2], tmp)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := os.ReadFile(filepath.Join(dir, "assets", "labels.txt"))
	if err != nil || string(labels) != "cat\ndog\n" {
		t.Errorf("labels.txt = %q, %v", labels, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ClaimMarker)); err == nil {
		t.Error("the claim marker was downloaded")
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", dir)
	}

	_, _, err = src.Fetch(ctx, vs[1], tmp)
	if err == nil || !strings.Contains(err.Error(), "saved_model.pb has 3 bytes, the marker says 5") {
		t.Errorf("Fetch(corrupt version 3) = %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a failed fetch left %d entries in the temp dir", len(left))
	}

	missing, err := New(ctx, "gs://no-such-bucket/m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Versions(ctx); err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("Versions() on a missing bucket = %v", err)
	}
}
