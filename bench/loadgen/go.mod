module github.com/imgclf/bench/loadgen

go 1.24
