module github.com/imgclf/bench/gonoop

go 1.24
