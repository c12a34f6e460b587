package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/imgclf/serving"
)

// Local is a model directory on the local file system.
type Local struct {
	BasePath string
	Logger   *slog.Logger
}

func (l *Local) String() string { return l.BasePath }

// Versions lists numeric subdirectories holding both saved_model.pb and the
// _COMPLETE marker. Non-numeric entries are ignored silently (TF Serving
// does the same); numeric ones without the marker are logged at debug
// level, as a poll sees them every interval while they upload.
func (l *Local) Versions(ctx context.Context) ([]Version, error) {
	entries, err := os.ReadDir(l.BasePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, serving.Errorf(serving.NotFound, "model base path %s does not exist", l.BasePath)
	}
	if err != nil {
		return nil, serving.Errorf(serving.Unavailable, "listing model base path %s: %v", l.BasePath, err)
	}
	var versions []Version
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || n < 0 || !isDir(l.BasePath, e) {
			continue
		}
		dir := filepath.Join(l.BasePath, e.Name())
		if missing := missingFiles(dir); len(missing) > 0 {
			logger(l.Logger).Debug("skipping incomplete model version", "path", dir, "version", n, "missing", missing)
			continue
		}
		versions = append(versions, Version{Number: n, Path: dir})
	}
	sortVersions(versions)
	return versions, nil
}

// Fetch checks the version's files against its marker; the directory is
// loaded in place, so cleanup does nothing.
func (l *Local) Fetch(ctx context.Context, v Version, _ string) (string, func(), error) {
	b, err := os.ReadFile(filepath.Join(v.Path, CompleteMarker))
	if err != nil {
		return "", nil, err
	}
	m := parseMarker(b)
	found := map[string]int64{}
	for rel := range m.Files {
		if !safeRelPath(rel) {
			continue // reported missing by verify
		}
		if fi, err := os.Stat(filepath.Join(v.Path, filepath.FromSlash(rel))); err == nil && !fi.IsDir() {
			found[rel] = fi.Size()
		}
	}
	if err := m.verify(found); err != nil {
		return "", nil, err
	}
	return v.Path, func() {}, nil
}

// isDir follows symlinks, so a version may be a link to a directory
// elsewhere (a common way to publish by atomic rename of a link).
func isDir(base string, e fs.DirEntry) bool {
	fi, err := os.Stat(filepath.Join(base, e.Name()))
	return err == nil && fi.IsDir()
}

func missingFiles(dir string) []string {
	var missing []string
	for _, name := range []string{SavedModelFile, CompleteMarker} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			missing = append(missing, name)
		}
	}
	return missing
}

// Put writes data to BasePath/key through a temporary file in the same
// directory, renamed into place once complete, so a reader never sees part
// of a file. Missing directories are created.
func (l *Local) Put(_ context.Context, key string, data []byte) error {
	if !safeRelPath(key) {
		return fmt.Errorf("%s: key %q escapes the directory", l.BasePath, key)
	}
	dest := filepath.Join(l.BasePath, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp's 0600 would hide the file from other readers
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	return nil
}
