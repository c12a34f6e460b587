package storage

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitHTTP waits until url answers, for an emulator that was just started.
func waitHTTP(t *testing.T, what, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start on %s: %v", what, url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedVersions writes, through put, the objects both object-store tests
// read from bucket "models": under zoo/imgclf, 1 and 10 complete; 2
// claimed and half uploaded (no marker); 3 with a marker saying a file is
// bigger than it is; x not a version; and another model beside it.
func seedVersions(put func(key, content string)) {
	for _, v := range []string{"1", "10"} {
		put("zoo/imgclf/"+v+"/_CLAIMED", "{}")
		put("zoo/imgclf/"+v+"/saved_model.pb", "graph")
		put("zoo/imgclf/"+v+"/variables/variables.index", "idx")
		put("zoo/imgclf/"+v+"/assets/labels.txt", "cat\ndog\n")
		put("zoo/imgclf/"+v+"/_COMPLETE", `{"files": {"saved_model.pb": 5, "variables/variables.index": 3, "assets/labels.txt": 8}}`)
	}
	put("zoo/imgclf/2/_CLAIMED", "{}")
	put("zoo/imgclf/2/saved_model.pb", "graph")
	put("zoo/imgclf/3/saved_model.pb", "gra")
	put("zoo/imgclf/3/_COMPLETE", `{"files": {"saved_model.pb": 5}}`)
	put("zoo/imgclf/x/saved_model.pb", "graph")
	put("zoo/imgclf2/7/saved_model.pb", "other model")
}

// checkVersionsAndFetch checks what the Source for <scheme>://models/zoo/imgclf
// lists and fetches from the objects seedVersions wrote.
func checkVersionsAndFetch(t *testing.T, scheme string) {
	t.Helper()
	ctx := context.Background()
	src, err := New(ctx, scheme+"://models/zoo/imgclf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := src.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll("[{1 S://models/zoo/imgclf/1} {3 S://models/zoo/imgclf/3} {10 S://models/zoo/imgclf/10}]", "S:", scheme+":")
	if got := fmt.Sprint(vs); got != want {
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
}

// checkPut writes through the Writers for <scheme>://logs/pred and
// <scheme>://logs (bucket "logs" must exist) and reads each object back
// with read (bucket, key): nested keys, binary content, an overwrite, and
// a missing bucket's error.
func checkPut(t *testing.T, scheme string, read func(bucket, key string) (string, error)) {
	t.Helper()
	ctx := context.Background()
	w, err := NewWriter(ctx, scheme+"://logs/pred/", Options{Role: "--prediction-log-uri"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.String(), scheme+"://logs/pred"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	for key, content := range map[string]string{
		"faces/3/date=2026-12-06/predictions-20261206T123456Z-host-1-000001.jsonl.gz": string(binary),
		"top.txt": "top",
	} {
		if err := w.Put(ctx, key, []byte(content)); err != nil {
			t.Fatalf("Put(%s) = %v", key, err)
		}
		if got, err := read("logs", "pred/"+key); err != nil || got != content {
			t.Errorf("object pred/%s = %q, %v; want %q", key, got, err, content)
		}
	}
	if err := w.Put(ctx, "top.txt", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if got, err := read("logs", "pred/top.txt"); err != nil || got != "again" {
		t.Errorf("overwritten object = %q, %v", got, err)
	}

	root, err := NewWriter(ctx, scheme+"://logs", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Put(ctx, "root.txt", []byte("r")); err != nil {
		t.Fatal(err)
	}
	if got, err := read("logs", "root.txt"); err != nil || got != "r" {
		t.Errorf("object at the bucket root = %q, %v", got, err)
	}

	missing, err := NewWriter(ctx, scheme+"://no-such-bucket/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Put(ctx, "x", []byte("x")); err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("Put() into a missing bucket = %v, want an error naming it", err)
	}
}
