package storage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imgclf/serving"
)

// bucketPath is a model base path (or another base URI) in an object
// store, <scheme>://bucket/prefix.
type bucketPath struct {
	scheme string // "gs", "s3"
	bucket string
	prefix string // without trailing slash; "" for the bucket root
}

// parseBucketPath splits <scheme>://bucket/prefix; role names the URI in
// errors (Options.Role).
func parseBucketPath(uri, scheme, role string) (bucketPath, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, scheme+"://"), "/")
	if bucket == "" {
		return bucketPath{}, serving.Errorf(serving.Invalid, "%s %s: no bucket name; use %s://bucket/prefix", role, uri, scheme)
	}
	return bucketPath{scheme: scheme, bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
}

func (b bucketPath) String() string { return b.scheme + "://" + path.Join(b.bucket, b.prefix) }

// root is the key prefix of the model base: "" or "<prefix>/".
func (b bucketPath) root() string {
	if b.prefix == "" {
		return ""
	}
	return b.prefix + "/"
}

// versionRoot is the key prefix of version n: "<prefix>/<n>/".
func (b bucketPath) versionRoot(n int64) string { return b.root() + strconv.FormatInt(n, 10) + "/" }

// objectURI names one object, e.g. gs://bucket/key, for errors.
func (b bucketPath) objectURI(key string) string { return b.scheme + "://" + b.bucket + "/" + key }

// objectStore is what listing and fetching versions needs from a bucket
// (GCS, S3): the objects under a prefix and the content of one.
type objectStore interface {
	// list returns name (relative to prefix) -> size of every object under prefix.
	list(ctx context.Context, prefix string) (map[string]int64, error)
	// open reads one object.
	open(ctx context.Context, key string) (io.ReadCloser, error)
	// objectURI names one object, e.g. gs://bucket/key, for errors.
	objectURI(key string) string
}

// completeVersions keeps the version numbers among objects (names relative to
// the model base) that have both saved_model.pb and _COMPLETE; base is the
// model base path's URI.
func completeVersions(objects map[string]int64, base string, logger *slog.Logger) []Version {
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
	var versions []Version
	for n, f := range files {
		if !f[SavedModelFile] || !f[CompleteMarker] {
			logger.Debug("skipping incomplete model version", "path", base, "version", n)
			continue
		}
		versions = append(versions, Version{Number: n, Path: base + "/" + strconv.FormatInt(n, 10)})
	}
	sortVersions(versions)
	return versions
}

// fetchObjects downloads every object under prefix (a version's folder),
// except the claim marker, into a new directory under tmpDir and checks
// them against the version's completion marker.
func fetchObjects(ctx context.Context, store objectStore, prefix string, number int64, tmpDir string) (string, func(), error) {
	objects, err := store.list(ctx, prefix)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(tmpDir, fmt.Sprintf("model-%d-", number))
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
			return "", nil, fmt.Errorf("object %s: name escapes the version directory", store.objectURI(prefix+rel))
		}
		n, err := download(ctx, store, prefix+rel, filepath.Join(dir, filepath.FromSlash(rel)))
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

func download(ctx context.Context, store objectStore, key, dest string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return 0, err
	}
	r, err := store.open(ctx, key)
	if err != nil {
		return 0, err
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
		return 0, fmt.Errorf("downloading %s: %w", store.objectURI(key), err)
	}
	return n, nil
}
