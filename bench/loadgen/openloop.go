package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// OpenLoop sends requests at a fixed arrival rate whatever the server does,
// as independent clients would, and times each one from its intended send
// time. When the server falls behind, in-flight requests reach MaxInFlight
// and the next ones wait for a free slot: their wait counts in their latency
// (no coordinated omission), and those still waiting when the schedule ends
// are counted as dropped, not sent.
type OpenLoop struct {
	Rate        float64       // offered requests per second
	Arrival     string        // "poisson" (exponential gaps) or "constant"
	MaxInFlight int           // requests outstanding at once, at most
	Warmup      time.Duration // scheduled before the window; sent but not counted
	Duration    time.Duration // the measurement window of intended send times
	Seed        uint64        // of the Poisson gaps, so a run can be repeated
}

// OpenResult is what loadgen prints in open-loop mode. Every count is of
// requests whose intended send time falls in the window.
type OpenResult struct {
	Mode        string  `json:"mode"` // "open"
	Arrival     string  `json:"arrival"`
	OfferedRPS  float64 `json:"offered_rps"`
	MaxInFlight int     `json:"max_inflight"`
	Seconds     float64 `json:"seconds"`
	Scheduled   int     `json:"scheduled"`
	Sent        int     `json:"sent"`
	OK          int     `json:"ok"`
	replies
	Dropped     int     `json:"dropped"` // never sent: still waiting at the cap at the end
	AchievedRPS float64 `json:"achieved_rps"`
	P50ms       float64 `json:"p50_ms"` // of the 200s, from the intended send time
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	SendLagP99  float64 `json:"send_lag_p99_ms"` // sent minus intended: the generator's own queue
	CPUSeconds  float64 `json:"loadgen_cpu_s"`
	Total       int64   `json:"total_requests"` // every reply, warm-up included
}

// openSample is one scheduled request: when it was due, and, if it was sent,
// how late it left and how long it took from when it was due.
type openSample struct {
	intended time.Duration // since the start of the schedule
	sent     bool
	lag      time.Duration // actual send - intended
	latency  time.Duration // reply - intended
	status   string
	err      error
}

// schedule is the intended send times, from the start, of every request due
// before total: constant gaps of 1/rate, or exponential ones of that mean.
func schedule(rate float64, arrival string, total time.Duration, seed uint64) ([]time.Duration, error) {
	if rate <= 0 {
		return nil, fmt.Errorf("rate %v: want > 0", rate)
	}
	var next func(i int, prev float64) float64 // seconds from the start
	switch arrival {
	case "constant":
		next = func(i int, _ float64) float64 { return float64(i) / rate } // no drift from summing
	case "poisson":
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		next = func(i int, prev float64) float64 {
			if i == 0 {
				return 0
			}
			return prev + rng.ExpFloat64()/rate
		}
	default:
		return nil, fmt.Errorf("arrival %q: want poisson or constant", arrival)
	}
	var out []time.Duration
	for i, t := 0, 0.0; ; i++ {
		t = next(i, t)
		d := time.Duration(math.Round(t * float64(time.Second)))
		if d >= total {
			return out, nil
		}
		out = append(out, d)
	}
}

// Run drives url until the schedule ends and every sent request is answered
// (each bounded by the client's timeout) and summarizes the window.
func (o OpenLoop) Run(do Caller) (OpenResult, error) {
	samples, total, err := o.run(do)
	if err != nil {
		return OpenResult{}, err
	}
	r := o.summarize(samples)
	r.Total = total
	return r, nil
}

func (o OpenLoop) run(do Caller) ([]openSample, int64, error) {
	if o.MaxInFlight < 1 {
		return nil, 0, fmt.Errorf("max in-flight %d: want >= 1", o.MaxInFlight)
	}
	times, err := schedule(o.Rate, o.Arrival, o.Warmup+o.Duration, o.Seed)
	if err != nil {
		return nil, 0, err
	}
	samples := make([]openSample, len(times))
	for i, at := range times {
		samples[i].intended = at
	}
	slots := make(chan struct{}, o.MaxInFlight)
	var wg sync.WaitGroup
	var total atomic.Int64
	start := time.Now()
	end := time.NewTimer(o.Warmup + o.Duration)
	defer end.Stop()
dispatch:
	for i, at := range times {
		due := start.Add(at)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case slots <- struct{}{}:
		default:
			// At the cap: wait for a slot while the schedule runs on, so the
			// requests after this one leave late and their wait is timed.
			select {
			case slots <- struct{}{}:
			case <-end.C:
				break dispatch // this one and the rest are dropped
			}
		}
		samples[i].sent = true
		samples[i].lag = time.Since(due)
		wg.Add(1)
		go func(s *openSample) {
			defer wg.Done()
			defer func() { <-slots }()
			c := do(context.Background())
			s.latency, s.status, s.err = c.done.Sub(due), c.status, c.err
			total.Add(1)
		}(&samples[i])
	}
	wg.Wait()
	return samples, total.Load(), nil
}

func (o OpenLoop) summarize(samples []openSample) OpenResult {
	r := OpenResult{
		Mode: "open", Arrival: o.Arrival, OfferedRPS: o.Rate, MaxInFlight: o.MaxInFlight,
		Seconds: o.Duration.Seconds(), replies: newReplies(),
	}
	var ok, lags []time.Duration
	for _, s := range samples {
		if s.intended < o.Warmup {
			continue
		}
		r.Scheduled++
		if !s.sent {
			r.Dropped++
			continue
		}
		r.Sent++
		lags = append(lags, s.lag)
		if r.add(s.status, s.err) {
			ok = append(ok, s.latency)
		}
	}
	r.OK = len(ok)
	r.AchievedRPS = float64(r.OK) / o.Duration.Seconds()
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	r.P50ms, r.P90ms, r.P99ms = quantile(ok, 0.50), quantile(ok, 0.90), quantile(ok, 0.99)
	r.SendLagP99 = quantile(lags, 0.99)
	if len(ok) > 0 {
		r.MaxMs = ms(ok[len(ok)-1])
	}
	r.CPUSeconds = cpuSeconds()
	return r
}
