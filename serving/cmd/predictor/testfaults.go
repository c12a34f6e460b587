package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imgclf/serving"
)

// TestFaults is --test-faults, for tests only: it makes one model version
// deliberately worse (slower, failing), so that a canary rollout of that
// version can be seen to fail. The zero value is off.
type TestFaults struct {
	Version   int64         // the version made worse, of every model served; 0 = off
	Delay     time.Duration // slept at the start of each Predict; 0 = none
	FailEvery int64         // calls FailEvery, 2*FailEvery, ... fail with Internal; 0 = none
}

// testFaultsSyntax is what --test-faults takes.
const testFaultsSyntax = "version=N[,delay=D][,fail-every=K], e.g. version=3,delay=300ms,fail-every=4"

// On reports whether faults are injected at all.
func (f TestFaults) On() bool { return f.Version != 0 }

// String renders f as --test-faults takes it ("" when off).
func (f TestFaults) String() string {
	if !f.On() {
		return ""
	}
	s := "version=" + strconv.FormatInt(f.Version, 10)
	if f.Delay > 0 {
		s += ",delay=" + f.Delay.String()
	}
	if f.FailEvery > 0 {
		s += ",fail-every=" + strconv.FormatInt(f.FailEvery, 10)
	}
	return s
}

// parseTestFaults reads --test-faults: "" is off; otherwise version is
// required, and delay, fail-every or both.
func parseTestFaults(s string) (TestFaults, error) {
	var f TestFaults
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	bad := func(format string, args ...any) (TestFaults, error) {
		return TestFaults{}, fmt.Errorf("--test-faults %q: %s; want %s", s, fmt.Sprintf(format, args...), testFaultsSyntax)
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return bad("%q is not key=value", strings.TrimSpace(item))
		}
		if seen[key] {
			return bad("%s is given twice", key)
		}
		seen[key] = true
		switch key {
		case "version":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				return bad("version %q is not a positive integer", val)
			}
			f.Version = n
		case "delay":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return bad("delay %q is not a positive duration such as 300ms", val)
			}
			f.Delay = d
		case "fail-every":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				return bad("fail-every %q is not a positive integer (1 fails every call)", val)
			}
			f.FailEvery = n
		default:
			return bad("unknown key %q", key)
		}
	}
	if f.Version == 0 {
		return bad("version is required")
	}
	if f.Delay == 0 && f.FailEvery == 0 {
		return bad("give delay, fail-every or both")
	}
	return f, nil
}

// wrap returns m made worse when version is the faulty one, else m itself.
// Wrap the whole served model (outside the batcher and the prediction log),
// so the delay adds to the request's latency and the failure reaches the
// client; the prediction log then never sees an injected failure.
func (f TestFaults) wrap(m serving.Model, name string, version int64) serving.Model {
	if !f.On() || version != f.Version {
		return m
	}
	return &faultyModel{Model: m, faults: f, name: name, version: version}
}

// faultyModel is a serving.Model with --test-faults injected; Signature and
// Close are the wrapped model's.
type faultyModel struct {
	serving.Model
	faults  TestFaults
	name    string
	version int64
	calls   atomic.Int64
}

// Predict sleeps the delay (returning early with ctx's error when it ends
// first), then fails every FailEvery-th call with Internal, else runs the
// wrapped model. Every call counts, so with fail-every=K calls K, 2K, ... fail.
func (m *faultyModel) Predict(ctx context.Context, inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	n := m.calls.Add(1)
	if d := m.faults.Delay; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
	}
	if k := m.faults.FailEvery; k > 0 && n%k == 0 {
		return nil, serving.Errorf(serving.Internal,
			"injected test fault (--test-faults %s): model %q version %d fails every %d calls; this was call %d",
			m.faults, m.name, m.version, k, n)
	}
	return m.Model.Predict(ctx, inputs)
}

// QueueLen is the wrapped model's (the batcher's), so the queue depth
// metric still sees it.
func (m *faultyModel) QueueLen() int {
	if q, ok := m.Model.(interface{ QueueLen() int }); ok {
		return q.QueueLen()
	}
	return 0
}
