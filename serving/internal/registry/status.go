package registry

import (
	"sort"

	"github.com/imgclf/serving"
)

// VersionStatus is one version's state, for the status API.
type VersionStatus struct {
	Version int64
	State   State
	Err     error
}

// Status returns the states of a model's versions (one when version is not
// Latest), newest first.
func (r *Registry) Status(name string, version int64) ([]VersionStatus, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.models[name]
	if !ok {
		return nil, serving.Errorf(serving.NotFound, "model %q not found; this server has %s", name, r.namesLocked())
	}
	out := []VersionStatus{}
	for v, e := range versions {
		if version == Latest || v == version {
			out = append(out, VersionStatus{Version: v, State: e.state, Err: e.err})
		}
	}
	if len(out) == 0 && version != Latest {
		return nil, serving.Errorf(serving.NotFound, "model %q has no version %d; it has %s", name, version, versionList(versions))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// Available returns a model's AVAILABLE versions, ascending.
func (r *Registry) Available(name string) []int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var vs []int64
	for v, e := range r.models[name] {
		if e.state == StateAvailable {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	return vs
}

// Ready reports whether every model has an AVAILABLE version (and there is
// at least one model).
func (r *Registry) Ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.models) == 0 {
		return false
	}
	for _, versions := range r.models {
		ok := false
		for _, e := range versions {
			ok = ok || e.state == StateAvailable
		}
		if !ok {
			return false
		}
	}
	return true
}

// NotReady names the models without an AVAILABLE version, for the
// readiness probe's message.
func (r *Registry) NotReady() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var names []string
	for name, versions := range r.models {
		ok := false
		for _, e := range versions {
			ok = ok || e.state == StateAvailable
		}
		if !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Each calls fn for every version under the read lock (metrics); fn must
// not call back into the registry.
func (r *Registry) Each(fn func(name string, version int64, state State, m serving.Model)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for name, versions := range r.models {
		for v, e := range versions {
			fn(name, v, e.state, e.Model)
		}
	}
}

// IndexEntry is one version in the repository index; a model with no
// version yet has one entry with Version -1.
type IndexEntry struct {
	Name    string
	Version int64
	State   State
	Err     error
	Labels  []string // version labels pointing at this version, sorted
}

// Index lists every model and version, by name and then newest version
// first.
func (r *Registry) Index() []IndexEntry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []IndexEntry
	for name, versions := range r.models {
		if len(versions) == 0 {
			out = append(out, IndexEntry{Name: name, Version: -1})
		}
		for v, e := range versions {
			var labels []string
			for label, lv := range r.labels[name] {
				if lv == v {
					labels = append(labels, label)
				}
			}
			sort.Strings(labels)
			out = append(out, IndexEntry{Name: name, Version: v, State: e.state, Err: e.err, Labels: labels})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version > out[j].Version
	})
	return out
}
