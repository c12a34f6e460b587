package server

import (
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

// Registry holds the loaded models: name -> version -> model and state.
// It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	models map[string]map[int64]*entry
}

type entry struct {
	model serving.Model
	state State
	err   error // why the version failed to load, if it did
}

// VersionStatus is one version's state, for the status API.
type VersionStatus struct {
	Version int64
	State   State
	Err     error
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{models: map[string]map[int64]*entry{}}
}

// Set records a version's state. m may be nil while loading or after a
// failure (then err says why).
func (r *Registry) Set(name string, version int64, state State, m serving.Model, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models[name] == nil {
		r.models[name] = map[int64]*entry{}
	}
	r.models[name][version] = &entry{model: m, state: state, err: err}
}

// Lookup returns an AVAILABLE model version, the newest one when version is
// latestVersion, with the version number it resolved to.
func (r *Registry) Lookup(name string, version int64) (serving.Model, int64, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.models[name]
	if !ok {
		return nil, 0, serving.Errorf(serving.NotFound, "model %q not found; this server has %s", name, r.namesLocked())
	}
	if version == latestVersion {
		version = -1
		for v, e := range versions {
			if e.state == StateAvailable && v > version {
				version = v
			}
		}
		if version < 0 {
			return nil, 0, serving.Errorf(serving.Unavailable, "model %q has no AVAILABLE version yet; retry later", name)
		}
	}
	e, ok := versions[version]
	if !ok {
		return nil, 0, serving.Errorf(serving.NotFound, "model %q has no version %d; it has %s", name, version, versionList(versions))
	}
	if e.state != StateAvailable {
		return nil, 0, serving.Errorf(serving.Unavailable, "model %q version %d is %s, not AVAILABLE; retry later", name, version, e.state)
	}
	return e.model, version, nil
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
	var out []VersionStatus
	for v, e := range versions {
		if version == latestVersion || v == version {
			out = append(out, VersionStatus{Version: v, State: e.state, Err: e.err})
		}
	}
	if len(out) == 0 {
		return nil, serving.Errorf(serving.NotFound, "model %q has no version %d; it has %s", name, version, versionList(versions))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// Ready reports whether at least one version of any model is AVAILABLE.
func (r *Registry) Ready() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, versions := range r.models {
		for _, e := range versions {
			if e.state == StateAvailable {
				return true
			}
		}
	}
	return false
}

// Close unloads every version: each goes UNLOADING (new requests get 503),
// then its Close waits for in-flight predictions, then END.
func (r *Registry) Close() error {
	type loaded struct {
		name    string
		version int64
		model   serving.Model
	}
	var all []loaded
	r.mu.Lock()
	for name, versions := range r.models {
		for v, e := range versions {
			if e.model != nil && e.state != StateEnd {
				e.state = StateUnloading
				all = append(all, loaded{name, v, e.model})
			}
		}
	}
	r.mu.Unlock()

	// Close outside the lock: it blocks until predictions finish, and those
	// must not hold up status requests meanwhile.
	var errs []error
	for _, l := range all {
		err := l.model.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("closing model %q version %d: %w", l.name, l.version, err))
		}
		r.Set(l.name, l.version, StateEnd, nil, err)
	}
	return errors.Join(errs...)
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
