// Package storage discovers model versions in TF Serving's layout,
// <model_base_path>/<N>/, on a local disk, in Google Cloud Storage or in
// S3 (or an S3-compatible store), and makes a version loadable from a local
// directory. It also writes whole files to the same three kinds of store
// (Writer), for the prediction log.
//
// The publishing contract (components/storage on the Python side): a
// version is complete once its _COMPLETE marker exists; the marker is JSON
// {"published_at", "files": {relpath: size}} and is written last. Only
// complete versions are listed, and Fetch checks every file against the
// marker, so a partial or corrupted version fails to load instead of
// loading wrong.
package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/imgclf/serving"
)

// CompleteMarker is the file a publisher writes last into a version
// directory. Without it a version may still be uploading, so it is never
// loaded: the only safe signal on stores without atomic directory renames.
const CompleteMarker = "_COMPLETE"

// ClaimMarker is created first by a gs:// or s3:// publisher to reserve a
// version number; it is not part of the model and is never downloaded.
const ClaimMarker = "_CLAIMED"

// SavedModelFile must exist in every complete version.
const SavedModelFile = "saved_model.pb"

// Version is one complete model version.
type Version struct {
	Number int64
	// Path is where the version lives: a local directory, or a gs:// or s3:// URI.
	Path string
}

// Source lists and fetches the versions of one model.
type Source interface {
	// Versions returns the complete versions sorted by ascending Number.
	Versions(ctx context.Context) ([]Version, error)
	// Fetch returns a local directory holding v, after checking its files
	// against the completion marker. Remote sources download into a new
	// directory under tmpDir; cleanup removes it (TensorFlow has read
	// everything it needs once a load returns).
	Fetch(ctx context.Context, v Version, tmpDir string) (dir string, cleanup func(), err error)
	// String is the base path, for logs and errors.
	String() string
}

// Writer stores whole files under a base URI: a local directory, or a
// prefix in a bucket.
type Writer interface {
	// Put stores data as key (a slash-separated path under the base),
	// replacing any object there. Readers see the whole file or none of it.
	Put(ctx context.Context, key string, data []byte) error
	// String is the base URI, for logs and errors.
	String() string
}

// Options configure a Source or a Writer.
type Options struct {
	// Logger receives debug lines about incomplete versions; nil discards them.
	Logger *slog.Logger
	// Role says what the URI is in errors, e.g. "--prediction-log-uri";
	// default "model base path".
	Role string
}

func (o Options) role() string {
	if o.Role == "" {
		return "model base path"
	}
	return o.Role
}

// store is what each kind of storage implements.
type store interface {
	Source
	Writer
}

var (
	_ store = (*Local)(nil)
	_ store = (*GCS)(nil)
	_ store = (*S3)(nil)
)

// New returns the Source for a model base path: a local directory, a
// file:// URI, gs://bucket/prefix or s3://bucket/prefix.
func New(ctx context.Context, basePath string, opts Options) (Source, error) {
	return open(ctx, basePath, opts)
}

// NewWriter returns the Writer for a local directory, a file:// URI,
// gs://bucket/prefix or s3://bucket/prefix, with the same credentials and
// endpoints as a Source there.
func NewWriter(ctx context.Context, uri string, opts Options) (Writer, error) {
	return open(ctx, uri, opts)
}

// CheckURI reports, without connecting, an unsupported scheme or a
// missing bucket name: what New and NewWriter would refuse at once.
func CheckURI(uri string, opts Options) error {
	scheme, ok := schemeOf(uri)
	switch {
	case !ok || scheme == "file":
		return nil
	case scheme == "gs" || scheme == "s3":
		_, err := parseBucketPath(uri, scheme, opts.role())
		return err
	}
	return serving.Errorf(serving.Invalid, "%s %s: %s:// is not supported; use a local directory, gs://bucket/prefix or s3://bucket/prefix", opts.role(), uri, scheme)
}

func open(ctx context.Context, uri string, opts Options) (store, error) {
	if err := CheckURI(uri, opts); err != nil {
		return nil, err
	}
	switch scheme, _ := schemeOf(uri); scheme {
	case "gs":
		return NewGCS(ctx, uri, opts)
	case "s3":
		return NewS3(ctx, uri, opts)
	}
	return &Local{BasePath: strings.TrimPrefix(uri, "file://"), Logger: opts.Logger}, nil
}

// schemeOf returns the scheme of a <scheme>://... URI; false for a plain path.
func schemeOf(uri string) (string, bool) {
	scheme, _, ok := strings.Cut(uri, "://")
	return scheme, ok
}

// Latest returns the highest version, or false when there is none.
func Latest(versions []Version) (Version, bool) {
	if len(versions) == 0 {
		return Version{}, false
	}
	return versions[len(versions)-1], true
}

func sortVersions(vs []Version) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
}

// marker is the content of a _COMPLETE file.
type marker struct {
	PublishedAt string           `json:"published_at"`
	Files       map[string]int64 `json:"files"`
}

// parseMarker reads a completion marker. An empty or non-JSON marker (a
// plain `touch _COMPLETE`) lists no files, so only its presence counts.
func parseMarker(b []byte) marker {
	var m marker
	if json.Unmarshal(b, &m) != nil {
		return marker{}
	}
	return m
}

// verify compares the sizes of the files found (relative path -> size)
// with those the marker lists; files not in the marker are allowed.
func (m marker) verify(found map[string]int64) error {
	var problems []string
	for rel, size := range m.Files {
		if rel == CompleteMarker || rel == ClaimMarker {
			continue // a marker cannot list its own final size
		}
		got, ok := found[rel]
		switch {
		case !ok:
			problems = append(problems, rel+" is missing")
		case got != size:
			problems = append(problems, fmt.Sprintf("%s has %d bytes, the marker says %d", rel, got, size))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("version does not match its %s marker (partial or corrupted upload): %s", CompleteMarker, strings.Join(problems, "; "))
	}
	return nil
}

// safeRelPath rejects object names that would escape the download
// directory.
func safeRelPath(rel string) bool {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") {
		return false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return false
		}
	}
	return true
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
