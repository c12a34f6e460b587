package storage

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	waitHTTP(t, "fake-gcs-server", "http://"+host+"/storage/v1/b", 20*time.Second)
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
	seedVersions(func(key, content string) { put(t, c, "models", key, content) })
	checkVersionsAndFetch(t, "gs")

	missing, err := New(ctx, "gs://no-such-bucket/m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Versions(ctx); err == nil || err.Error() != "gs://no-such-bucket/m: bucket gs://no-such-bucket does not exist" {
		t.Errorf("Versions() on a missing bucket = %v", err)
	}
}

func TestGCSPut(t *testing.T) {
	ctx := context.Background()
	c := fakeGCS(t)
	if err := c.Bucket("logs").Create(ctx, "emulator", nil); err != nil {
		t.Fatal(err)
	}
	checkPut(t, "gs", func(bucket, key string) (string, error) {
		r, err := c.Bucket(bucket).Object(key).NewReader(ctx)
		if err != nil {
			return "", err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		return string(b), err
	})
}
