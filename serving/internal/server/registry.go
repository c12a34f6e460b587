package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/imgclf/serving"
)

// State is a model version's lifecycle state, named as in TF Serving.
type State string

// Version states.
const (
	StateLoading   State = "LOADING"
	StateAvailable State = "AVAILABLE"
	StateUnloading State = "UNLOADING"
	StateEnd       State = "END"
)

// maxEndedVersions bounds how many unloaded or failed versions a model's
// status keeps, so months of reloads do not grow the registry.
const maxEndedVersions = 8

// Registry holds the served models: name -> version -> model and state.
// Requests Acquire a version and Release it when done; Unload waits for
// those leases before closing the model. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	models map[string]map[int64]*entry
	labels map[string]map[string]int64 // model -> version label -> version
}

// Loaded is what loading a version gives the registry.
type Loaded struct {
	Model  serving.Model
	Labels []string        // assets/labels.txt lines; nil when the version has none
	Card   json.RawMessage // the version's metadata.json (its model card); nil when none
}

type entry struct {
	Loaded
	state    State
	err      error          // why the version failed to load or unload, if it did
	inflight sync.WaitGroup // leases; Add only under mu while AVAILABLE
}

// VersionStatus is one version's state, for the status API.
type VersionStatus struct {
	Version int64
	State   State
	Err     error
}

// Lease is an acquired, AVAILABLE model version. Release it exactly once.
type Lease struct {
	Loaded
	Version int64
	entry   *entry
}

// Release ends the lease; an unloading version waits for every lease.
func (l *Lease) Release() { l.entry.inflight.Done() }

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{models: map[string]map[int64]*entry{}}
}

// AddModel declares a model before any version loads, so readiness waits
// for it and its status answers (with no versions) instead of 404.
func (r *Registry) AddModel(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models[name] == nil {
		r.models[name] = map[int64]*entry{}
	}
}

// Set records a version's state. m may be nil while loading or after a
// failure (then err says why).
func (r *Registry) Set(name string, version int64, state State, m serving.Model, err error) {
	r.set(name, version, &entry{Loaded: Loaded{Model: m}, state: state, err: err})
}

// Publish makes a loaded version AVAILABLE, with its labels for :classify
// and its model card.
func (r *Registry) Publish(name string, version int64, v Loaded) {
	r.set(name, version, &entry{Loaded: v, state: StateAvailable})
}

func (r *Registry) set(name string, version int64, e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models[name] == nil {
		r.models[name] = map[int64]*entry{}
	}
	r.models[name][version] = e
	r.pruneLocked(name)
}

// Acquire returns a lease on an AVAILABLE version, the newest one when
// version is latestVersion.
func (r *Registry) Acquire(name string, version int64) (*Lease, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.models[name]
	if !ok {
		return nil, serving.Errorf(serving.NotFound, "model %q not found; this server has %s", name, r.namesLocked())
	}
	if version == latestVersion {
		version = -1
		for v, e := range versions {
			if e.state == StateAvailable && v > version {
				version = v
			}
		}
		if version < 0 {
			return nil, serving.Errorf(serving.Unavailable, "model %q has no AVAILABLE version yet; retry later", name)
		}
	}
	e, ok := versions[version]
	if !ok {
		return nil, serving.Errorf(serving.NotFound, "model %q has no version %d; it has %s", name, version, versionList(versions))
	}
	if e.state != StateAvailable {
		return nil, serving.Errorf(serving.Unavailable, "model %q version %d is %s, not AVAILABLE; retry later", name, version, e.state)
	}
	e.inflight.Add(1)
	return &Lease{Loaded: e.Loaded, Version: version, entry: e}, nil
}

// Unload makes a version UNLOADING (new requests no longer get it), waits
// for its leases, closes the model and marks it END. Unloading a version
// that is not loaded does nothing.
func (r *Registry) Unload(name string, version int64) error {
	r.mu.Lock()
	e := r.models[name][version]
	if e == nil || e.Model == nil || e.state == StateEnd || e.state == StateUnloading {
		r.mu.Unlock()
		return nil
	}
	e.state = StateUnloading
	r.mu.Unlock()

	// Outside the lock: in-flight predictions must not hold up status
	// requests meanwhile.
	e.inflight.Wait()
	err := e.Model.Close()
	if err != nil {
		err = fmt.Errorf("closing model %q version %d: %w", name, version, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e.state, e.Loaded, e.err = StateEnd, Loaded{}, err
	r.pruneLocked(name)
	return err
}

// Status returns the states of a model's versions (one when version is not
// latestVersion), newest first.
func (r *Registry) Status(name string, version int64) ([]VersionStatus, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.models[name]
	if !ok {
		return nil, serving.Errorf(serving.NotFound, "model %q not found; this server has %s", name, r.namesLocked())
	}
	out := []VersionStatus{}
	for v, e := range versions {
		if version == latestVersion || v == version {
			out = append(out, VersionStatus{Version: v, State: e.state, Err: e.err})
		}
	}
	if len(out) == 0 && version != latestVersion {
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

// Close unloads every version, waiting for in-flight requests.
func (r *Registry) Close() error {
	type key struct {
		name    string
		version int64
	}
	var all []key
	r.mu.RLock()
	for name, versions := range r.models {
		for v, e := range versions {
			if e.Model != nil && e.state != StateEnd {
				all = append(all, key{name, v})
			}
		}
	}
	r.mu.RUnlock()
	var errs []error
	for _, k := range all {
		errs = append(errs, r.Unload(k.name, k.version))
	}
	return errors.Join(errs...)
}

// pruneLocked drops the oldest END versions beyond maxEndedVersions.
func (r *Registry) pruneLocked(name string) {
	var ended []int64
	for v, e := range r.models[name] {
		if e.state == StateEnd {
			ended = append(ended, v)
		}
	}
	if len(ended) <= maxEndedVersions {
		return
	}
	sort.Slice(ended, func(i, j int) bool { return ended[i] < ended[j] })
	for _, v := range ended[:len(ended)-maxEndedVersions] {
		delete(r.models[name], v)
	}
}

func (r *Registry) namesLocked() string {
	if len(r.models) == 0 {
		return "no models"
	}
	names := make([]string, 0, len(r.models))
	for n := range r.models {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func versionList(versions map[int64]*entry) string {
	if len(versions) == 0 {
		return "no versions yet"
	}
	vs := make([]int64, 0, len(versions))
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return "versions " + strings.Join(s, ", ")
}

// SetVersionLabels maps labels such as "stable" or "canary" to versions of
// a model, for /v1/models/{name}/labels/{label} paths.
func (r *Registry) SetVersionLabels(name string, labels map[string]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.labels == nil {
		r.labels = map[string]map[string]int64{}
	}
	r.labels[name] = labels
}

// ResolveLabel returns the version a label points to.
func (r *Registry) ResolveLabel(name, label string) (int64, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.models[name]; !ok {
		return 0, serving.Errorf(serving.NotFound, "model %q not found; this server has %s", name, r.namesLocked())
	}
	v, ok := r.labels[name][label]
	if !ok {
		return 0, serving.Errorf(serving.NotFound, "model %q has no version label %q; labels are set with version_labels in --model-config-file", name, label)
	}
	return v, nil
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
