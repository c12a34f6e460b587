package main

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving/bench/loadgen/grpcreq"
)

// GRPCTarget is the predictor's gRPC predict call: TF Serving's Predict
// ("predict": a DT_STRING tensor image_bytes of one element) or KServe v2's
// ModelInfer ("infer": one BYTES input image_bytes in raw_input_contents, as
// tritonclient.grpc sends it), with one image.
type GRPCTarget struct {
	Addr      string // host:port
	API       string // "predict" or "infer"
	Model     string
	ImageFile string
	Conns     int // client connections the calls are spread over; HTTP/2 multiplexes each
}

// Caller sends the one prepared request round-robin over the connections;
// each call is bounded by timeout. OK counts as status "200", any other code
// by its name (e.g. "InvalidArgument"), as HTTP statuses count by number.
func (g GRPCTarget) Caller(timeout time.Duration) (Caller, error) {
	image, err := os.ReadFile(g.ImageFile)
	if err != nil {
		return nil, err
	}
	req, err := grpcreq.Request(g.API, g.Model, image)
	if err != nil {
		return nil, err
	}
	conns, err := grpcreq.Dial(g.Addr, g.Conns, len(req)+1024)
	if err != nil {
		return nil, err
	}
	return grpcCaller(conns, grpcreq.Method[g.API], grpcreq.Frame(req), timeout), nil
}

func grpcCaller(conns []*grpc.ClientConn, method string, req grpcreq.Frame, timeout time.Duration) Caller {
	var next atomic.Uint64
	codec := grpc.ForceCodec(grpcreq.RawCodec{})
	return func(ctx context.Context) sample {
		cc := conns[next.Add(1)%uint64(len(conns))]
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var reply grpcreq.Frame
		t0 := time.Now()
		err := cc.Invoke(ctx, method, req, &reply, codec)
		s := sample{done: time.Now(), latency: time.Since(t0)}
		switch st, _ := status.FromError(err); {
		case err == nil:
			s.status = "200"
		case st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled:
			s.err = err // no answer from the server: a transport error, as in the HTTP mode
		default:
			s.status = st.Code().String()
		}
		return s
	}
}

// Check makes one call and decodes its prediction.
func (g GRPCTarget) Check(timeout time.Duration) (grpcreq.Prediction, error) {
	image, err := os.ReadFile(g.ImageFile)
	if err != nil {
		return grpcreq.Prediction{}, err
	}
	req, err := grpcreq.Request(g.API, g.Model, image)
	if err != nil {
		return grpcreq.Prediction{}, err
	}
	conns, err := grpcreq.Dial(g.Addr, 1, len(req)+1024)
	if err != nil {
		return grpcreq.Prediction{}, err
	}
	defer conns[0].Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var reply grpcreq.Frame
	if err := conns[0].Invoke(ctx, grpcreq.Method[g.API], grpcreq.Frame(req), &reply, grpc.ForceCodec(grpcreq.RawCodec{})); err != nil {
		return grpcreq.Prediction{}, err
	}
	return grpcreq.Decode(g.API, reply)
}
