// Named under github.com/imgclf/serving, with serving/ replaced by its local
// copy, so that Go's internal rule lets the gRPC mode import the predictor's
// generated stubs (serving/internal/gen): the requests it sends are built by
// the same code the server decodes them with.
module github.com/imgclf/serving/bench/loadgen

go 1.25.0

require (
	github.com/imgclf/serving v0.0.0
	google.golang.org/grpc v1.82.1
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
	golang.org/x/text v0.38.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260630182238-925bb5da69e7 // indirect
)

replace github.com/imgclf/serving => ../../serving
