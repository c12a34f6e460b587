package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// sleepyServer answers 200 after d and records the most requests it held at once.
func sleepyServer(t *testing.T, d time.Duration, peak *atomic.Int64) *httptest.Server {
	t.Helper()
	var now atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(d)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestScheduleConstantIsEvenlySpaced(t *testing.T) {
	times, err := schedule(100, "constant", 95*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 10 {
		t.Fatalf("got %d times, want 10 (0, 10, ..., 90 ms)", len(times))
	}
	for i, at := range times {
		if want := time.Duration(i) * 10 * time.Millisecond; at != want {
			t.Errorf("times[%d] = %v, want %v", i, at, want)
		}
	}
}

func TestSchedulePoissonHasTheRateOnAverage(t *testing.T) {
	const rate, total = 1000.0, 100 * time.Second
	times, err := schedule(rate, "poisson", total, 7)
	if err != nil {
		t.Fatal(err)
	}
	// The count of a Poisson process of mean 100000 is within 1% (3 sigma) of it.
	if n, want := float64(len(times)), rate*total.Seconds(); n < 0.99*want || n > 1.01*want {
		t.Errorf("got %v arrivals in %v, want about %v", n, total, want)
	}
	var short int
	for i := 1; i < len(times); i++ {
		if times[i] < times[i-1] {
			t.Fatalf("times[%d] = %v before times[%d] = %v", i, times[i], i-1, times[i-1])
		}
		if times[i]-times[i-1] < time.Millisecond/2 {
			short++
		}
	}
	// Exponential gaps: P(gap < mean/2) = 1 - exp(-1/2), about 39%; constant gaps have none.
	if frac := float64(short) / float64(len(times)); frac < 0.37 || frac > 0.42 {
		t.Errorf("%.3f of the gaps are under half the mean, want about 0.39", frac)
	}
	again, _ := schedule(rate, "poisson", time.Second, 7)
	if again[10] != times[10] {
		t.Errorf("same seed, different schedule: %v then %v", times[10], again[10])
	}
}

func TestScheduleRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		arrival string
	}{{0, "poisson"}, {-1, "constant"}, {10, "bursty"}} {
		if _, err := schedule(tc.rate, tc.arrival, time.Second, 1); err == nil {
			t.Errorf("schedule(%v, %q): want an error", tc.rate, tc.arrival)
		}
	}
}

// With one request in flight at a time and a server slower than the arrival
// gap, the k-th request cannot leave before the k earlier ones have each taken
// the server's time, so timed from when it was due its latency is at least
// (k+1)*service - k*gap. A generator that timed from the actual send would
// report about one service time for every request.
func TestOpenLoopTimesQueueingAtTheCapFromTheSchedule(t *testing.T) {
	const service, gap = 20 * time.Millisecond, 10 * time.Millisecond
	var peak atomic.Int64
	srv := sleepyServer(t, service, &peak)
	o := OpenLoop{Rate: 100, Arrival: "constant", MaxInFlight: 1, Duration: 300 * time.Millisecond}
	samples, _, err := o.run(httpCaller(newClient(1, 5*time.Second), srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 30 {
		t.Fatalf("%d scheduled, want 30 (300 ms at 100/s)", len(samples))
	}
	sent := 0
	for k, s := range samples {
		if !s.sent {
			for _, rest := range samples[k:] {
				if rest.sent {
					t.Fatalf("request due at %v sent after an earlier one was dropped", rest.intended)
				}
			}
			break
		}
		sent++
		if s.err != nil || s.status != "200" {
			t.Fatalf("request %d: status %q, error %v", k, s.status, s.err)
		}
		if s.intended != time.Duration(k)*gap {
			t.Fatalf("request %d due at %v, want %v", k, s.intended, time.Duration(k)*gap)
		}
		if least := time.Duration(k+1)*service - time.Duration(k)*gap; s.latency < least {
			t.Errorf("request %d: latency %v from its intended send, want >= %v", k, s.latency, least)
		}
		if least := time.Duration(k) * (service - gap); s.lag < least {
			t.Errorf("request %d: left %v after it was due, want >= %v", k, s.lag, least)
		}
	}
	// The server can take at most 300/20 = 15 in the window; the rest wait at the cap.
	if sent < 2 || sent > 16 {
		t.Errorf("%d sent, want 2..16", sent)
	}
	r := o.summarize(samples)
	if r.Scheduled != 30 || r.Sent != sent || r.Dropped != 30-sent || r.OK != sent {
		t.Errorf("summary %+v, want 30 scheduled, %d sent and ok, %d dropped", r, sent, 30-sent)
	}
	last := time.Duration(sent)*service - time.Duration(sent-1)*gap
	if r.MaxMs < ms(last) || r.P99ms < ms(last) {
		t.Errorf("p99 %v ms, max %v ms: want both >= %v", r.P99ms, r.MaxMs, ms(last))
	}
	if peak.Load() != 1 {
		t.Errorf("server held %d requests at once, want 1", peak.Load())
	}
}

func TestOpenLoopKeepsToTheCap(t *testing.T) {
	var peak atomic.Int64
	srv := sleepyServer(t, 10*time.Millisecond, &peak)
	o := OpenLoop{
		Rate: 1000, Arrival: "constant", MaxInFlight: 3,
		Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond,
	}
	r, err := o.Run(httpCaller(newClient(3, 5*time.Second), srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got > 3 {
		t.Errorf("server held %d requests at once, want <= 3", got)
	}
	// 3 slots of 10 ms hold at most 300/s: of the 200 due in the window, most never leave.
	if r.Scheduled != 200 || r.Sent+r.Dropped != 200 || r.Sent > 3*25 || r.OK != r.Sent {
		t.Errorf("1000/s against 3 x 10 ms for 250 ms: want 200 scheduled in the window, "+
			"at most 75 of them sent, the rest dropped; got %+v", r)
	}
}

func TestOpenLoopCountsOnlyTheWindow(t *testing.T) {
	var peak atomic.Int64
	srv := sleepyServer(t, time.Millisecond, &peak)
	o := OpenLoop{
		Rate: 100, Arrival: "constant", MaxInFlight: 8,
		Warmup: 100 * time.Millisecond, Duration: 200 * time.Millisecond,
	}
	r, err := o.Run(httpCaller(newClient(8, 5*time.Second), srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	// 30 due in all; the first 10 are warm-up. 100/s against 1 ms never fills 8 slots.
	if r.Scheduled != 20 || r.Sent != 20 || r.OK != 20 || r.Dropped != 0 || r.Errors != 0 {
		t.Errorf("want 20 scheduled, sent and ok, got %+v", r)
	}
	if r.Total != 30 {
		t.Errorf("total replies %d, want 30 (warm-up included)", r.Total)
	}
	if r.AchievedRPS < 99.9 || r.AchievedRPS > 100.1 {
		t.Errorf("achieved %v req/s, want 100", r.AchievedRPS)
	}
	if r.P50ms < 1 {
		t.Errorf("p50 %v ms: want at least the server's 1 ms", r.P50ms)
	}
}
