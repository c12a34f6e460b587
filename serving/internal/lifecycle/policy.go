// Package lifecycle keeps each model's served versions in step with its
// storage: a VersionWatcher polls the versions, loads the ones its
// VersionPolicy selects in the background (fetch, load, warm up), publishes
// them to the registry atomically, and unloads the versions no longer
// selected once a selected one serves. A version that fails to load is
// logged and reported in the model status, and the versions already
// serving keep serving.
package lifecycle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// VersionPolicy chooses which versions to serve, as TF Serving's
// model_version_policy does.
type VersionPolicy struct {
	Latest   int     // serve the newest N versions (when Specific and All are unset)
	Specific []int64 // serve exactly these versions, when they exist
	All      bool    // serve every version
}

// ParsePolicy reads "latest", "latest:N", "all" or "specific:1,2,3".
func ParsePolicy(s string) (VersionPolicy, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch {
	case kind == "latest" && !hasArg:
		return VersionPolicy{Latest: 1}, nil
	case kind == "latest":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return VersionPolicy{}, fmt.Errorf("version policy %q: N in latest:N must be a positive integer", s)
		}
		return VersionPolicy{Latest: n}, nil
	case kind == "all" && !hasArg:
		return VersionPolicy{All: true}, nil
	case kind == "specific" && arg != "":
		var p VersionPolicy
		for _, f := range strings.Split(arg, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || v < 0 {
				return VersionPolicy{}, fmt.Errorf("version policy %q: %q is not a version number", s, f)
			}
			p.Specific = append(p.Specific, v)
		}
		return p, nil
	}
	return VersionPolicy{}, fmt.Errorf("version policy %q: use latest, latest:N, all or specific:V1,V2", s)
}

// String renders the policy in ParsePolicy's syntax.
func (p VersionPolicy) String() string {
	switch {
	case p.All:
		return "all"
	case len(p.Specific) > 0:
		s := make([]string, len(p.Specific))
		for i, v := range p.Specific {
			s[i] = strconv.FormatInt(v, 10)
		}
		return "specific:" + strings.Join(s, ",")
	}
	return "latest:" + strconv.Itoa(max(p.Latest, 1))
}

// Select returns the versions to serve out of the available ones
// (ascending), newest first.
func (p VersionPolicy) Select(available []int64) []int64 {
	var out []int64
	switch {
	case p.All:
		out = slices.Clone(available)
	case len(p.Specific) > 0:
		for _, v := range available {
			if slices.Contains(p.Specific, v) {
				out = append(out, v)
			}
		}
	default:
		n := max(p.Latest, 1)
		out = slices.Clone(available[max(len(available)-n, 0):])
	}
	slices.Reverse(out)
	return out
}
