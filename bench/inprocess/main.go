// Command inprocess measures the Go in-process limit of make bench: the
// predictor's own model package (serving/internal/model) loading a
// SavedModel and running its signature in a loop, no HTTP, for each batch
// size and number of goroutines. It prints one JSON line per combination.
package main

import (
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
	ImagesPerS float64 `json:"images_per_s"`
}

func main() {
	dir := flag.String("model", "", "SavedModel version directory (<base>/<N>)")
	image := flag.String("image", "", "encoded image file fed to the image_bytes input")
	batches := flag.String("batches", "1,8", "comma-separated batch sizes")
	goroutines := flag.String("goroutines", "1,2", "comma-separated goroutine counts")
	dur := flag.Duration("d", 3*time.Second, "time per combination")
	flag.Parse()
	if err := run(*dir, *image, ints(*batches), ints(*goroutines), *dur); err != nil {
		fmt.Fprintf(os.Stderr, "inprocess: %v\n", err)
		os.Exit(1)
	}
}

func run(dir, image string, batches, goroutines []int, dur time.Duration) error {
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
		for _, g := range goroutines {
			r := result{Batch: b, Goroutines: g}
			r.Calls, err = loop(m, in, g, dur)
			if err != nil {
				return err
			}
			r.ImagesPerS = float64(r.Calls) * float64(b) / dur.Seconds()
			json.NewEncoder(os.Stdout).Encode(r)
		}
	}
	return nil
}

// loop runs Predict from g goroutines until dur has passed and counts the calls.
func loop(m *model.SavedModel, in map[string]*serving.Tensor, g int, dur time.Duration) (int64, error) {
	var calls atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
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
		return 0, err
	}
	return calls.Load(), nil
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
