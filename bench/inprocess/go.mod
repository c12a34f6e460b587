// Built in a Go workspace with ../../serving (bench/run.py writes it with
// `go work init`), and named under github.com/imgclf/serving so that Go's
// internal rule lets it import serving/internal/model: the in-process limit is
// measured with the predictor's own model code, without adding to serving/.
module github.com/imgclf/serving/bench/inprocess

go 1.24
