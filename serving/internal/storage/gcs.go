package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	bucketPath
	client *storage.Client
	logger *slog.Logger
}

// NewGCS returns the Source for a gs:// URI.
func NewGCS(ctx context.Context, uri string, opts Options) (*GCS, error) {
	where, err := parseBucketPath(uri, "gs", opts.role())
	if err != nil {
		return nil, err
	}
	client, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s %s: creating the GCS client: %w", opts.role(), uri, err)
	}
	return &GCS{bucketPath: where, client: client, logger: logger(opts.Logger)}, nil
}

// Close releases the client's connections.
func (g *GCS) Close() error { return g.client.Close() }

// Versions lists the objects under the prefix once and keeps the version
// numbers that have both saved_model.pb and _COMPLETE.
func (g *GCS) Versions(ctx context.Context) ([]Version, error) {
	objects, err := g.list(ctx, g.root())
	if err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		if _, err := g.client.Bucket(g.bucket).Attrs(ctx); err != nil {
			return nil, g.wrap(err, "reading bucket")
		}
	}
	return completeVersions(objects, g.String(), g.logger), nil
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

func (g *GCS) open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := g.client.Bucket(g.bucket).Object(key).NewReader(ctx)
	if err != nil {
		return nil, g.wrap(err, "reading "+key)
	}
	return r, nil
}

// Fetch downloads every object of the version (except the claim marker)
// into a new directory under tmpDir and checks it against the marker.
func (g *GCS) Fetch(ctx context.Context, v Version, tmpDir string) (string, func(), error) {
	return fetchObjects(ctx, g, g.versionRoot(v.Number), v.Number, tmpDir)
}

func (g *GCS) wrap(err error, what string) error {
	if errors.Is(err, storage.ErrBucketNotExist) {
		return serving.Errorf(serving.NotFound, "%s: bucket gs://%s does not exist", g, g.bucket)
	}
	return fmt.Errorf("gs://%s: %s: %w", g.bucket, what, err)
}

// Put uploads data as <prefix>/key in one request; GCS shows an object
// only once its upload is complete.
func (g *GCS) Put(ctx context.Context, key string, data []byte) error {
	ctx, cancel := context.WithCancel(ctx) // cancelling abandons a failed upload
	defer cancel()
	w := g.client.Bucket(g.bucket).Object(g.root() + key).NewWriter(ctx)
	w.ChunkSize = 0 // one request, no resumable session: the files are small
	if _, err := w.Write(data); err != nil {
		return g.wrap(err, "writing "+g.root()+key)
	}
	if err := w.Close(); err != nil {
		return g.wrap(err, "writing "+g.root()+key)
	}
	return nil
}
