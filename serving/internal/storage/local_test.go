package storage

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/imgclf/serving"
)

// layout creates files (paths relative to a temp dir; a trailing / makes a
// directory) and returns the dir.
func layout(t *testing.T, paths ...string) string {
	t.Helper()
	base := t.TempDir()
	for _, p := range paths {
		full := filepath.Join(base, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func complete(n string) []string {
	return []string{n + "/saved_model.pb", n + "/_COMPLETE", n + "/variables/"}
}

func TestLocalVersions(t *testing.T) {
	tests := []struct {
		name       string
		paths      []string
		want       []int64
		wantLogged string
	}{
		{"empty", []string{"x/"}, nil, ""},
		{"sorted numerically", append(append(complete("10"), complete("2")...), complete("1")...), []int64{1, 2, 10}, ""},
		{"no marker is incomplete", append(complete("1"), "2/saved_model.pb"), []int64{1}, `"missing":["_COMPLETE"]`},
		{"marker without model", append(complete("1"), "3/_COMPLETE"), []int64{1}, `"missing":["saved_model.pb"]`},
		{"non-numeric and files ignored", append(complete("4"), "tmp-5/saved_model.pb", "tmp-5/_COMPLETE", "6", "-1/", "labels.txt"), []int64{4}, ""},
		{"marker as directory", append(complete("1"), "2/saved_model.pb", "2/_COMPLETE/"), []int64{1}, `"version":2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := layout(t, tt.paths...)
			var logs bytes.Buffer
			src := &Local{BasePath: base, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			vs, err := src.Versions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, v := range vs {
				got = append(got, v.Number)
				if want := filepath.Join(base, filepath.Base(v.Path)); v.Path != want {
					t.Errorf("path = %s, want %s", v.Path, want)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("versions = %v, want %v", got, tt.want)
			}
			if !strings.Contains(logs.String(), tt.wantLogged) || (tt.wantLogged == "" && logs.Len() > 0) {
				t.Errorf("logs = %q, want them to contain %q", logs.String(), tt.wantLogged)
			}
		})
	}
}

func TestLocalMissingBase(t *testing.T) {
	src := &Local{BasePath: filepath.Join(t.TempDir(), "nope")}
	_, err := src.Versions(context.Background())
	if serving.ErrorCode(err) != serving.NotFound || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Versions() = %v, want not_found naming the path", err)
	}
}

func TestLatest(t *testing.T) {
	if _, ok := Latest(nil); ok {
		t.Error("Latest(nil) ok")
	}
	if v, _ := Latest([]Version{{Number: 1}, {Number: 3}}); v.Number != 3 {
		t.Errorf("Latest = %d, want 3", v.Number)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		in       string
		wantBase string
		wantErr  bool
	}{
		{"/models/imgclf", "/models/imgclf", false},
		{"file:///models/imgclf", "/models/imgclf", false},
		{"relative/dir", "relative/dir", false},
		{"az://bucket/models/imgclf", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			src, err := New(context.Background(), tt.in, Options{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New() error = %v", err)
			}
			if err == nil && src.(*Local).BasePath != tt.wantBase {
				t.Errorf("base = %s, want %s", src.(*Local).BasePath, tt.wantBase)
			}
		})
	}
}

func TestLocalFetchChecksTheMarker(t *testing.T) {
	tests := []struct {
		name    string
		marker  string
		files   map[string]string
		wantErr string
	}{
		{"sizes match", `{"files": {"saved_model.pb": 3, "variables/v.index": 2}}`, map[string]string{"saved_model.pb": "abc", "variables/v.index": "xy"}, ""},
		{"plain marker", ``, map[string]string{"saved_model.pb": "abc"}, ""},
		{"missing file", `{"files": {"saved_model.pb": 3, "variables/v.index": 2}}`, map[string]string{"saved_model.pb": "abc"}, "variables/v.index is missing"},
		{"truncated file", `{"files": {"saved_model.pb": 30}}`, map[string]string{"saved_model.pb": "abc"}, "saved_model.pb has 3 bytes, the marker says 30"},
		{"escaping path", `{"files": {"../x": 1}}`, map[string]string{"saved_model.pb": "abc"}, "../x is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "1")
			tt.files[CompleteMarker] = tt.marker
			for rel, content := range tt.files {
				p := filepath.Join(dir, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, cleanup, err := (&Local{BasePath: filepath.Dir(dir)}).Fetch(context.Background(), Version{Number: 1, Path: dir}, t.TempDir())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Fetch() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != dir {
				t.Fatalf("Fetch() = %s, %v; want %s", got, err, dir)
			}
			cleanup()
		})
	}
}

func TestLocalPut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := NewWriter(ctx, "file://"+dir+"/logs", Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := "faces/3/date=2026-12-06/predictions-1.jsonl.gz"
	if err := w.Put(ctx, key, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, key, []byte("second")); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if want := []string{"logs/" + key}; !reflect.DeepEqual(files, want) {
		t.Errorf("files = %v, want only %v (no temporary file left)", files, want)
	}
	p := filepath.Join(dir, "logs", filepath.FromSlash(key))
	if b, err := os.ReadFile(p); err != nil || string(b) != "second" {
		t.Errorf("content = %q, %v; want the overwrite", b, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644 so other users' readers can read it", fi.Mode(), err)
	}

	if err := w.Put(ctx, "../escape", []byte("x")); err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Errorf("Put(../escape) = %v", err)
	}
	// A file where a directory must go: the write fails and leaves nothing.
	if err := os.WriteFile(filepath.Join(dir, "logs", "blocked"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, "blocked/1/f", []byte("x")); err == nil {
		t.Error("Put() under a file succeeded")
	}
}

func TestCheckURI(t *testing.T) {
	opts := Options{Role: "--prediction-log-uri"}
	tests := []struct{ uri, wantErr string }{
		{"/var/log/predictions", ""},
		{"file:///var/log/predictions", ""},
		{"gs://bucket/prefix", ""},
		{"s3://bucket", ""},
		{"az://bucket/p", "--prediction-log-uri az://bucket/p: az:// is not supported; use a local directory, gs://bucket/prefix or s3://bucket/prefix"},
		{"gs:///p", "--prediction-log-uri gs:///p: no bucket name; use gs://bucket/prefix"},
	}
	for _, tt := range tests {
		err := CheckURI(tt.uri, opts)
		if (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr)) {
			t.Errorf("CheckURI(%s) = %v, want %q", tt.uri, err, tt.wantErr)
		}
	}
	if _, err := NewWriter(context.Background(), "az://b/p", opts); err == nil || !strings.Contains(err.Error(), "--prediction-log-uri az://b/p") {
		t.Errorf("NewWriter(az://) = %v", err)
	}
}
