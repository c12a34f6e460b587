// Command inprocess measures the Go in-process limit of make bench: the
// predictor's own model package (serving/internal/model) loading a
// SavedModel and running its signature in a loop, no HTTP, for each batch
// size and number of goroutines. It prints one JSON line per combination.
//
// With -paired it loads the model once and then measures the first batch
// size with the first goroutine count each time it reads a line from
// standard input, until EOF: bench/run.py alternates those windows with
// windows of load on a server, so both see the machine at the same speed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/model"
)

type result struct {
	Batch      int     `json:"batch"`
	Goroutines int     `json:"goroutines"`
	Calls      int64   `json:"calls"`
	Seconds    float64 `json:"seconds"`
	ImagesPerS float64 `json:"images_per_s"`
}

func main() {
	dir := flag.String("model", "", "SavedModel version directory (<base>/<N>)")
	image := flag.String("image", "", "encoded image file fed to the image_bytes input")
	batches := flag.String("batches", "1,8", "comma-separated batch sizes")
	goroutines := flag.String("goroutines", "1,2", "comma-separated goroutine counts")
	dur := flag.Duration("d", 3*time.Second, "time per combination")
	minCalls := flag.Int64("min-calls", 1, "calls per combination at least, however long they take")
	paired := flag.Bool("paired", false, "one measurement of the first combination per line read from stdin")
	flag.Parse()
	w := window{dur: *dur, minCalls: *minCalls}
	if *paired {
		w.next = bufio.NewScanner(os.Stdin)
	}
	if err := run(*dir, *image, ints(*batches), ints(*goroutines), w); err != nil {
		fmt.Fprintf(os.Stderr, "inprocess: %v\n", err)
		os.Exit(1)
	}
}

// window is how long one measurement runs and, with -paired, what starts it.
type window struct {
	dur      time.Duration
	minCalls int64
	next     *bufio.Scanner // nil: measure every combination once
}

func run(dir, image string, batches, goroutines []int, w window) error {
	img, err := os.ReadFile(image)
	if err != nil {
		return err
	}
	m, err := model.Load(dir, model.Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	key := ""
	for k := range m.Signature().Inputs {
		key = k // the image-bytes signature has exactly one input
	}
	for _, b := range batches {
		strs := make([][]byte, b)
		for i := range strs {
			strs[i] = img
		}
		in := map[string]*serving.Tensor{key: {DType: serving.DTString, Shape: []int64{int64(b)}, Strings: strs}}
		if _, err := m.Predict(context.Background(), in); err != nil { // warm-up
			return err
		}
		if w.next != nil {
			for w.next.Scan() {
				if err := measure(m, in, b, goroutines[0], w); err != nil {
					return err
				}
			}
			return w.next.Err()
		}
		for _, g := range goroutines {
			if err := measure(m, in, b, g, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// measure runs one window of b-image calls from g goroutines and prints its JSON line.
func measure(m *model.SavedModel, in map[string]*serving.Tensor, b, g int, w window) error {
	calls, elapsed, err := loop(m, in, g, w)
	if err != nil {
		return err
	}
	r := result{Batch: b, Goroutines: g, Calls: calls, Seconds: elapsed.Seconds()}
	r.ImagesPerS = float64(calls) * float64(b) / elapsed.Seconds()
	return json.NewEncoder(os.Stdout).Encode(r)
}

// loop runs Predict from g goroutines until w.dur has passed and at least
// w.minCalls calls have started, and counts the calls. Each goroutine's
// last call ends after the deadline, so the rate is taken over the time
// until every call has ended, not over w.dur: dividing by w.dur would count
// up to g calls' worth of work that ran after it.
func loop(m *model.SavedModel, in map[string]*serving.Tensor, g int, w window) (int64, time.Duration, error) {
	var calls, started atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(w.dur)
	var wg sync.WaitGroup
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if n := started.Add(1); n > w.minCalls && !time.Now().Before(deadline) {
					return
				}
				if _, err := m.Predict(context.Background(), in); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, 0, err
	}
	return calls.Load(), time.Since(start), nil
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
