// Command loadgen drives one HTTP endpoint, or the predictor's gRPC predict
// call (-grpc, grpc.go), and prints one JSON line of results.
//
// By default it runs a closed loop: a fixed number of concurrent keep-alive
// connections, each sending its next request when the last one returns. Only
// requests that complete inside the measurement window count, so a warm-up
// long enough for the server's queue to fill gives steady-state latencies
// even when one request takes seconds.
//
// With -rate it runs an open loop instead (openloop.go): requests arrive at
// that rate, Poisson or evenly spaced, whether or not earlier ones have
// returned, up to -max-inflight at once, each timed from its intended send
// time.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Result is what loadgen prints.
type Result struct {
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"` // 200s completed in the window
	replies             // of the requests in the window
	RPS         float64 `json:"rps"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	CPUSeconds  float64 `json:"loadgen_cpu_s"`  // this process's user+system time
	Total       int64   `json:"total_requests"` // every reply, warm-up included
}

// replies tallies answers by outcome, as both modes report them.
type replies struct {
	Errors     int            `json:"errors"` // non-200 replies and transport errors
	Statuses   map[string]int `json:"statuses"`
	FirstError string         `json:"first_error,omitempty"`
}

func newReplies() replies { return replies{Statuses: map[string]int{}} }

// add counts one answer and reports whether it was a 200.
func (r *replies) add(status string, err error) bool {
	switch {
	case err != nil:
		r.Errors++
		r.Statuses["transport_error"]++
		if r.FirstError == "" {
			r.FirstError = err.Error()
		}
		return false
	case status != "200":
		r.Errors++
		r.Statuses[status]++
		return false
	}
	r.Statuses[status]++
	return true
}

type sample struct {
	done    time.Time
	latency time.Duration
	status  string
	err     error
}

func main() {
	url := flag.String("url", "", "endpoint to call")
	bodyFile := flag.String("body", "", "file whose bytes are POSTed; empty sends GET")
	conc := flag.Int("c", 1, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "measurement window")
	warmup := flag.Duration("warmup", time.Second, "load before the window starts (not counted)")
	timeout := flag.Duration("timeout", 60*time.Second, "per-request timeout")
	rate := flag.Float64("rate", 0, "open loop: requests per second offered (0: closed loop)")
	arrival := flag.String("arrival", "poisson", "open loop: poisson or constant inter-arrival times")
	maxInFlight := flag.Int("max-inflight", 64, "open loop: requests outstanding at once, at most")
	seed := flag.Uint64("seed", 1, "open loop: seed of the Poisson arrivals")
	var g GRPCTarget
	flag.StringVar(&g.Addr, "grpc", "", "gRPC mode: host:port of the predictor's gRPC listener (instead of -url)")
	flag.StringVar(&g.API, "api", "predict", "gRPC mode: predict (TF Serving Predict) or infer (KServe v2 ModelInfer)")
	flag.StringVar(&g.Model, "model", "", "gRPC mode: the model's name")
	flag.StringVar(&g.ImageFile, "image", "", "gRPC mode: the image file sent as the one image_bytes element")
	flag.IntVar(&g.Conns, "conns", 1, "gRPC mode: HTTP/2 connections the calls are spread over")
	check := flag.Bool("check", false, "gRPC mode: one call, its decoded prediction printed as JSON")
	flag.Parse()
	if (*url == "") == (g.Addr == "") || *conc < 1 {
		fail("exactly one of -url and -grpc, and -c >= 1, are required")
	}
	var do Caller
	if g.Addr != "" {
		if *check {
			pred, err := g.Check(*timeout)
			if err != nil {
				fail(err.Error())
			}
			emit(pred)
			return
		}
		var err error
		if do, err = g.Caller(*timeout); err != nil {
			fail(err.Error())
		}
	} else {
		var body []byte
		if *bodyFile != "" {
			var err error
			if body, err = os.ReadFile(*bodyFile); err != nil {
				fail(err.Error())
			}
		}
		conns := *conc
		if *rate > 0 {
			conns = *maxInFlight
		}
		do = httpCaller(newClient(conns, *timeout), *url, body)
	}
	if *rate > 0 {
		open := OpenLoop{
			Rate: *rate, Arrival: *arrival, MaxInFlight: *maxInFlight,
			Warmup: *warmup, Duration: *dur, Seed: *seed,
		}
		r, err := open.Run(do)
		if err != nil {
			fail(err.Error())
		}
		emit(r)
		return
	}
	emit(run(do, *conc, *warmup, *dur))
}

func fail(msg string) {
	fmt.Fprintf(os.Stderr, "loadgen: %s\n", msg)
	os.Exit(2)
}

func emit(v any) {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		os.Exit(1)
	}
}

// A Caller sends one request and reports how it went; status is "200" for a
// success in either mode (gRPC's OK), so the summaries read the same.
type Caller func(ctx context.Context) sample

// newClient keeps up to conns keep-alive connections to the one host.
func newClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
			DisableCompression: true,
		},
	}
}

func run(do Caller, conc int, warmup, dur time.Duration) Result {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+dur)
	ctx, cancel := context.WithDeadline(context.Background(), to)
	defer cancel()

	perWorker := make([][]sample, conc)
	var total atomic.Int64
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				s := do(ctx)
				if ctx.Err() != nil && s.err != nil {
					return // cut off by the end of the window, not a server error
				}
				total.Add(1)
				if !s.done.Before(from) && !s.done.After(to) {
					perWorker[w] = append(perWorker[w], s)
				}
			}
		}()
	}
	wg.Wait()
	r := summarize(perWorker, conc, dur)
	r.Total = total.Load()
	return r
}

// httpCaller POSTs body to url (GET when body is nil) and reads the whole reply.
func httpCaller(client *http.Client, url string, body []byte) Caller {
	return func(ctx context.Context) sample { return call(ctx, client, url, body) }
}

func call(ctx context.Context, client *http.Client, url string, body []byte) sample {
	method, reader := http.MethodGet, io.Reader(nil)
	if body != nil {
		method, reader = http.MethodPost, bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, reader)
	if err != nil {
		return sample{done: time.Now(), err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body) // read it all so the connection is reused
		resp.Body.Close()
	}
	s := sample{done: time.Now(), latency: time.Since(t0), err: err}
	if err == nil {
		s.status = fmt.Sprint(resp.StatusCode)
	}
	return s
}

func summarize(perWorker [][]sample, conc int, dur time.Duration) Result {
	r := Result{Concurrency: conc, Seconds: dur.Seconds(), replies: newReplies()}
	var ok []time.Duration
	for _, samples := range perWorker {
		for _, s := range samples {
			if r.add(s.status, s.err) {
				ok = append(ok, s.latency)
			}
		}
	}
	r.Requests = len(ok)
	r.RPS = float64(len(ok)) / dur.Seconds()
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	r.P50ms, r.P90ms, r.P99ms = quantile(ok, 0.50), quantile(ok, 0.90), quantile(ok, 0.99)
	if len(ok) > 0 {
		r.MaxMs = ms(ok[len(ok)-1])
	}
	r.CPUSeconds = cpuSeconds()
	return r
}

// cpuSeconds is this process's user + system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// quantile is the nearest-rank quantile of sorted latencies, in milliseconds.
func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return ms(sorted[i])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
