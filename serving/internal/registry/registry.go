// Package registry holds the served model versions: their lifecycle states
// (TF Serving's LOADING, AVAILABLE, UNLOADING, END), what loading gave each
// (model, class labels, model card), version labels, and leases that keep a
// version open while a request uses it. Every front end resolves models
// through it; the version watcher (package lifecycle) writes it.
package registry

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

// Latest asks Acquire and Status for the newest version (a request
// without /versions/{v}).
const Latest int64 = -1

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

// Lease is an acquired, AVAILABLE model version. Release it exactly once.
type Lease struct {
	Loaded
	Version int64
	entry   *entry
}

// Release ends the lease; an unloading version waits for every lease.
func (l *Lease) Release() { l.entry.inflight.Done() }

// New returns an empty Registry.
func New() *Registry {
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
// version is Latest.
func (r *Registry) Acquire(name string, version int64) (*Lease, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.models[name]
	if !ok {
		return nil, serving.Errorf(serving.NotFound, "model %q not found; this server has %s", name, r.namesLocked())
	}
	if version == Latest {
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
