// Package storage discovers model versions in TF Serving's layout,
// <model_base_path>/<N>/, behind a small interface so object stores (gs://)
// can be added beside the local directory.
package storage

import (
	"context"
	"log/slog"
	"sort"
	"strings"

	"github.com/imgclf/serving"
)

// CompleteMarker is the file a publisher writes last into a version
// directory. Without it a version may still be uploading, so it is never
// loaded: the only safe signal on stores without atomic directory renames.
const CompleteMarker = "_COMPLETE"

// SavedModelFile must exist in every complete version.
const SavedModelFile = "saved_model.pb"

// Version is one complete model version.
type Version struct {
	Number int64
	// Path is a local directory TensorFlow can load.
	Path string
}

// Source lists the complete versions of one model.
type Source interface {
	// Versions returns the complete versions sorted by ascending Number.
	Versions(ctx context.Context) ([]Version, error)
}

// Options configure a Source.
type Options struct {
	// Logger receives one line per incomplete version; nil discards them.
	Logger *slog.Logger
}

// New returns the Source for a model base path. Local paths and file:// URIs
// are supported; other schemes are rejected with a message saying so.
func New(basePath string, opts Options) (Source, error) {
	switch {
	case strings.HasPrefix(basePath, "file://"):
		return &Local{BasePath: strings.TrimPrefix(basePath, "file://"), Logger: opts.Logger}, nil
	case strings.Contains(basePath, "://"):
		scheme := basePath[:strings.Index(basePath, "://")]
		return nil, serving.Errorf(serving.Invalid, "model base path %s: %s:// is not supported yet; copy the model to a local directory", basePath, scheme)
	}
	return &Local{BasePath: basePath, Logger: opts.Logger}, nil
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
