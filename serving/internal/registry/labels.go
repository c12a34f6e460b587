package registry

import (
	"github.com/imgclf/serving"
)

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
