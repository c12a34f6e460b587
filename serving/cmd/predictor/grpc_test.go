package main

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imgclf/serving/internal/servingtest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
	"github.com/imgclf/serving/internal/predlog"
	"github.com/imgclf/serving/internal/testmodel"
)

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestGRPCEndToEnd serves the real SavedModel fixture and predicts over
// both gRPC APIs, comparing with Keras' outputs as the REST test does;
// then SIGTERM's drain turns the health check NOT_SERVING.
func TestGRPCEndToEnd(t *testing.T) {
	dir := testmodel.Dir(t)
	exp := testmodel.Load(t, dir)
	grpcAddr := freeAddr(t)
	var logs servingtest.SyncBuffer
	base, stop := start(t, testConfig(t, dir, "--grpc-listen-addr="+grpcAddr, "--shutdown-delay=300ms"), &logs)
	waitFor(t, "readiness", func() bool { s, _ := get(t, base+"/v2/health/ready"); return s == 200 })
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	health := healthpb.NewHealthClient(conn)
	waitFor(t, "gRPC health SERVING", func() bool {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && r.Status == healthpb.HealthCheckResponse_SERVING
	})

	var names []string
	for n := range exp.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	imgs := &framework.TensorProto{Dtype: framework.DataType_DT_STRING,
		TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: int64(len(names))}}}}
	var raw []byte
	for _, n := range names {
		b := testmodel.Image(t, dir, n)
		imgs.StringVal = append(imgs.StringVal, b)
		raw = binary.LittleEndian.AppendUint32(raw, uint32(len(b)))
		raw = append(raw, b...)
	}

	t.Run("tfserving predict", func(t *testing.T) {
		resp, err := apis.NewPredictionServiceClient(conn).Predict(ctx, &apis.PredictRequest{
			ModelSpec: &apis.ModelSpec{Name: "imgclf"}, Inputs: map[string]*framework.TensorProto{"image_bytes": imgs}})
		if err != nil {
			t.Fatal(err)
		}
		probs := resp.Outputs["probabilities"].FloatVal
		classes := len(probs) / len(names)
		for i, n := range names {
			want := exp.Images[n]
			if !closeTo(float64s(probs[i*classes:(i+1)*classes]), want.Probabilities) || resp.Outputs["class_id"].Int64Val[i] != want.ClassID ||
				string(resp.Outputs["label"].StringVal[i]) != want.Label {
				t.Errorf("%s: got %v, Keras says %v", n, probs[i*classes:(i+1)*classes], want)
			}
		}
	})

	t.Run("v2 infer raw", func(t *testing.T) {
		resp, err := inference.NewGRPCInferenceServiceClient(conn).ModelInfer(ctx, &inference.ModelInferRequest{ModelName: "imgclf",
			Inputs:           []*inference.ModelInferRequest_InferInputTensor{{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{int64(len(names))}}},
			RawInputContents: [][]byte{raw}, Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities"}}})
		if err != nil {
			t.Fatal(err)
		}
		b := resp.RawOutputContents[0]
		probs := make([]float32, len(b)/4)
		for i := range probs {
			probs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		classes := len(probs) / len(names)
		for i, n := range names {
			if !closeTo(float64s(probs[i*classes:(i+1)*classes]), exp.Images[n].Probabilities) {
				t.Errorf("%s: got %v, Keras says %v", n, probs[i*classes:(i+1)*classes], exp.Images[n].Probabilities)
			}
		}
	})

	t.Run("unknown model", func(t *testing.T) {
		_, err := apis.NewPredictionServiceClient(conn).Predict(ctx, &apis.PredictRequest{ModelSpec: &apis.ModelSpec{Name: "nope"}})
		if st := status.Convert(err); st.Code() != codes.NotFound || !strings.Contains(st.Message(), `"nope"`) {
			t.Errorf("err = %v %q", st.Code(), st.Message())
		}
	})

	t.Run("oversize", func(t *testing.T) {
		big := &framework.TensorProto{Dtype: framework.DataType_DT_STRING,
			TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 1}}},
			StringVal:   [][]byte{make([]byte, 2<<20)}}
		_, err := apis.NewPredictionServiceClient(conn).Predict(ctx, &apis.PredictRequest{
			ModelSpec: &apis.ModelSpec{Name: "imgclf"}, Inputs: map[string]*framework.TensorProto{"image_bytes": big}})
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("a message over --max-body-bytes: %v, want ResourceExhausted", err)
		}
	})

	if !strings.Contains(logs.String(), `"endpoint":"grpc_predict"`) {
		t.Errorf("the access log has no grpc_predict line:\n%s", logs.String())
	}
	done := make(chan error, 1)
	go func() { done <- stop() }()
	waitFor(t, "gRPC health NOT_SERVING while draining", func() bool {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err != nil || r.Status == healthpb.HealthCheckResponse_NOT_SERVING
	})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("run did not stop")
	}
}

func float64s(f []float32) []float64 {
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

// TestGRPCPredictionLog: a prediction made over gRPC reaches the prediction
// log with the caller's x-request-id and the gRPC endpoint.
func TestGRPCPredictionLog(t *testing.T) {
	dir := testmodel.Dir(t)
	logDir := t.TempDir()
	grpcAddr := freeAddr(t)
	base, stop := start(t, testConfig(t, dir, "--grpc-listen-addr="+grpcAddr, "--prediction-log-uri=file://"+logDir,
		"--prediction-log-flush-interval=1h"), &servingtest.SyncBuffer{})
	waitFor(t, "readiness", func() bool { s, _ := get(t, base+"/v2/health/ready"); return s == 200 })
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	img := &framework.TensorProto{Dtype: framework.DataType_DT_STRING,
		TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 1}}},
		StringVal:   [][]byte{testmodel.Image(t, dir, "image1.jpg")}}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "grpc-caller-1")
	if _, err := apis.NewPredictionServiceClient(conn).Predict(ctx, &apis.PredictRequest{
		ModelSpec: &apis.ModelSpec{Name: "imgclf"}, Inputs: map[string]*framework.TensorProto{"image_bytes": img}}); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(logDir, "imgclf", "1", "date=*", "predictions-*.jsonl.gz"))
	if len(paths) != 1 {
		t.Fatalf("log files %v, want one", paths)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var r predlog.Record
	if err := json.NewDecoder(gz).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.RequestID != "grpc-caller-1" || r.Endpoint != "grpc_predict" || r.Model != "imgclf" || r.Version != 1 || len(r.Instances) != 1 {
		t.Errorf("record %+v", r)
	}
}
