// Package testmodel locates the SavedModel fixture that tests needing real
// TensorFlow run against, so every such test skips or fails the same way.
package testmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Expected is expected.json: Keras's own predictions for each fixture image,
// from the model in 1/ (Images) and from the one in variant/1/ (Variant: the
// same signature, other weights).
type Expected struct {
	Images  map[string]Prediction `json:"images"`
	Variant map[string]Prediction `json:"variant"`
}

// Prediction is one image's expected outputs.
type Prediction struct {
	Probabilities []float64 `json:"probabilities"`
	ClassID       int64     `json:"class_id"`
	Label         string    `json:"label"`
}

// Dir returns the fixture directory (holding 1/, images/, expected.json):
// $PREDICTOR_TEST_MODEL_DIR, else serving/testdata/model. When it is absent
// the test is skipped, or fails if PREDICTOR_REQUIRE_TF_TESTS=1 so CI cannot
// pass by silently skipping.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PREDICTOR_TEST_MODEL_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0) // serving/internal/testmodel/testmodel.go
		dir = filepath.Join(filepath.Dir(file), "..", "..", "testdata", "model")
	}
	if _, err := os.Stat(filepath.Join(dir, "expected.json")); err != nil {
		msg := "no test SavedModel at " + dir + " (" + err.Error() + "); run `make test-model` or set PREDICTOR_TEST_MODEL_DIR"
		if os.Getenv("PREDICTOR_REQUIRE_TF_TESTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// Load reads expected.json from dir.
func Load(t testing.TB, dir string) Expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("parsing expected.json: %v", err)
	}
	if len(e.Images) == 0 {
		t.Fatal("expected.json lists no images")
	}
	return e
}

// Image reads one fixture image.
func Image(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
