package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/imgclf/serving"
)

// GCS is a model base path in Google Cloud Storage, gs://bucket/prefix.
// Credentials come from the environment (Application Default
// Credentials); STORAGE_EMULATOR_HOST points the client at an emulator
// without credentials.
type GCS struct {
	client *storage.Client
	bucket string
	prefix string // without trailing slash; "" for the bucket root
	logger *slog.Logger
}

var _ Source = (*GCS)(nil)

// NewGCS returns the Source for a gs:// URI.
func NewGCS(ctx context.Context, uri string, opts Options) (*GCS, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, "gs://"), "/")
	if bucket == "" {
		return nil, serving.Errorf(serving.Invalid, "model base path %s: no bucket name; use gs://bucket/prefix", uri)
	}
	client, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("model base path %s: creating the GCS client: %w", uri, err)
	}
	return &GCS{client: client, bucket: bucket, prefix: strings.Trim(prefix, "/"), logger: logger(opts.Logger)}, nil
}

func (g *GCS) String() string { return "gs://" + path.Join(g.bucket, g.prefix) }

// Close releases the client's connections.
func (g *GCS) Close() error { return g.client.Close() }

func (g *GCS) root() string {
	if g.prefix == "" {
		return ""
	}
	return g.prefix + "/"
}

// Versions lists the objects under the prefix once and keeps the version
// numbers that have both saved_model.pb and _COMPLETE.
func (g *GCS) Versions(ctx context.Context) ([]Version, error) {
	objects, err := g.list(ctx, g.root())
	if err != nil {
		return nil, err
	}
	files := map[int64]map[string]bool{}
	for name := range objects {
		num, rest, ok := strings.Cut(name, "/")
		n, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || n < 0 {
			continue
		}
		if files[n] == nil {
			files[n] = map[string]bool{}
		}
		files[n][rest] = true
	}
	if len(objects) == 0 {
		if _, err := g.client.Bucket(g.bucket).Attrs(ctx); err != nil {
			return nil, g.wrap(err, "reading bucket")
		}
	}
	var versions []Version
	for n, f := range files {
		if !f[SavedModelFile] || !f[CompleteMarker] {
			g.logger.Debug("skipping incomplete model version", "path", g.String(), "version", n)
			continue
		}
		versions = append(versions, Version{Number: n, Path: g.String() + "/" + strconv.FormatInt(n, 10)})
	}
	sortVersions(versions)
	return versions, nil
}

// list returns name (relative to prefix) -> size of every object under prefix.
func (g *GCS) list(ctx context.Context, prefix string) (map[string]int64, error) {
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size"}); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	it := g.client.Bucket(g.bucket).Objects(ctx, q)
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, g.wrap(err, "listing "+prefix)
		}
		if rel := strings.TrimPrefix(attrs.Name, prefix); rel != "" && !strings.HasSuffix(rel, "/") {
			out[rel] = attrs.Size
		}
	}
}

// Fetch downloads every object of the version (except the claim marker)
// into a new directory under tmpDir and checks it against the marker.
func (g *GCS) Fetch(ctx context.Context, v Version, tmpDir string) (string, func(), error) {
	prefix := g.root() + strconv.FormatInt(v.Number, 10) + "/"
	objects, err := g.list(ctx, prefix)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(tmpDir, fmt.Sprintf("model-%d-", v.Number))
	if err != nil {
		return "", nil, fmt.Errorf("creating a download directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	found := map[string]int64{}
	for rel := range objects {
		if rel == ClaimMarker {
			continue
		}
		if !safeRelPath(rel) {
			cleanup()
			return "", nil, fmt.Errorf("object %s%s: name escapes the version directory", prefix, rel)
		}
		n, err := g.download(ctx, prefix+rel, filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			cleanup()
			return "", nil, err
		}
		found[rel] = n
	}
	b, err := os.ReadFile(filepath.Join(dir, CompleteMarker))
	if err == nil {
		err = parseMarker(b).verify(found)
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

func (g *GCS) download(ctx context.Context, object, dest string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return 0, err
	}
	r, err := g.client.Bucket(g.bucket).Object(object).NewReader(ctx)
	if err != nil {
		return 0, g.wrap(err, "reading "+object)
	}
	defer r.Close()
	f, err := os.Create(dest)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("downloading gs://%s/%s: %w", g.bucket, object, err)
	}
	return n, nil
}

func (g *GCS) wrap(err error, what string) error {
	if errors.Is(err, storage.ErrBucketNotExist) {
		return serving.Errorf(serving.NotFound, "bucket gs://%s does not exist", g.bucket)
	}
	return fmt.Errorf("gs://%s: %s: %w", g.bucket, what, err)
}
