package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
	"github.com/imgclf/serving/internal/servingtest"
	"github.com/imgclf/serving/internal/testmodel"
)

func TestParseTestFaults(t *testing.T) {
	tests := []struct {
		in      string
		want    TestFaults
		wantErr string
	}{
		{in: "", want: TestFaults{}},
		{in: "  ", want: TestFaults{}},
		{in: "version=3,delay=300ms,fail-every=4", want: TestFaults{Version: 3, Delay: 300 * time.Millisecond, FailEvery: 4}},
		{in: "fail-every=1, version=7", want: TestFaults{Version: 7, FailEvery: 1}},
		{in: "version=2,delay=1.5s", want: TestFaults{Version: 2, Delay: 1500 * time.Millisecond}},
		{in: "version=3", wantErr: "give delay, fail-every or both"},
		{in: "delay=300ms", wantErr: "version is required"},
		{in: "fail-every=2", wantErr: "version is required"},
		{in: "version=0,fail-every=2", wantErr: `version "0" is not a positive integer`},
		{in: "version=-1,fail-every=2", wantErr: `version "-1" is not a positive integer`},
		{in: "version=v3,fail-every=2", wantErr: `version "v3" is not a positive integer`},
		{in: "version=3,fail-every=0", wantErr: `fail-every "0" is not a positive integer`},
		{in: "version=3,fail-every=-4", wantErr: `fail-every "-4" is not a positive integer`},
		{in: "version=3,fail-every=half", wantErr: `fail-every "half" is not a positive integer`},
		{in: "version=3,delay=0s", wantErr: `delay "0s" is not a positive duration`},
		{in: "version=3,delay=-1s", wantErr: `delay "-1s" is not a positive duration`},
		{in: "version=3,delay=300", wantErr: `delay "300" is not a positive duration`},
		{in: "version=3,delay=soon", wantErr: `delay "soon" is not a positive duration`},
		{in: "version=3,fail_every=2", wantErr: `unknown key "fail_every"`},
		{in: "version=3,rate=0.5", wantErr: `unknown key "rate"`},
		{in: "version=3,version=4,delay=1s", wantErr: "version is given twice"},
		{in: "version=3,,delay=1s", wantErr: `"" is not key=value`},
		{in: "version=3,delay", wantErr: `"delay" is not key=value`},
		{in: "version=3,delay=", wantErr: `"delay=" is not key=value`},
		{in: "3", wantErr: `"3" is not key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTestFaults(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
					!strings.HasPrefix(err.Error(), fmt.Sprintf("--test-faults %q: ", tt.in)) || !strings.Contains(err.Error(), "want version=N") {
					t.Fatalf("error = %v, want one naming --test-faults %q, saying %q and the syntax", err, tt.in, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tt.want)
			}
			if got.On() {
				// String renders what parses back to the same faults.
				if again, err := parseTestFaults(got.String()); err != nil || again != got {
					t.Errorf("String() = %q parses to %+v, %v", got.String(), again, err)
				}
			}
		})
	}
}

// queuedFake is a model with a queue, as the batcher is.
type queuedFake struct{ *servingtest.FakeModel }

func (queuedFake) QueueLen() int { return 7 }

// TestFaultyModel checks the wrapper itself on a fake model: which calls
// fail, with what, the delay's cancellation and what it passes through.
func TestFaultyModel(t *testing.T) {
	fake := servingtest.NewImageModel()
	inputs := map[string]*serving.Tensor{"image_bytes": {DType: serving.DTString, Shape: []int64{1}, Strings: [][]byte{[]byte(servingtest.PNG)}}}

	if m := (TestFaults{}).wrap(fake, "m", 3); m != serving.Model(fake) {
		t.Errorf("faults off: wrap returned %T, want the model itself", m)
	}
	if m := (TestFaults{Version: 3, FailEvery: 1}).wrap(fake, "m", 2); m != serving.Model(fake) {
		t.Errorf("another version: wrap returned %T, want the model itself", m)
	}

	m := (TestFaults{Version: 3, FailEvery: 3}).wrap(queuedFake{fake}, "m", 3)
	var failed []int
	for call := 1; call <= 9; call++ {
		out, err := m.Predict(context.Background(), inputs)
		if err == nil {
			if out["label"] == nil || string(out["label"].Strings[0]) != "png" {
				t.Errorf("call %d: outputs %v, want the model's", call, out)
			}
			continue
		}
		failed = append(failed, call)
		var se *serving.Error
		if !errors.As(err, &se) || se.Code != serving.Internal || !strings.Contains(se.Message, "injected test fault") ||
			!strings.Contains(se.Message, fmt.Sprintf("this was call %d", call)) {
			t.Errorf("call %d: error %#v, want an Internal *serving.Error saying it is an injected test fault", call, err)
		}
	}
	if fmt.Sprint(failed) != "[3 6 9]" {
		t.Errorf("calls %v failed, want [3 6 9]", failed)
	}
	if q, ok := m.(interface{ QueueLen() int }); !ok || q.QueueLen() != 7 {
		t.Errorf("QueueLen is not the wrapped model's")
	}
	if m.Signature().Name != fake.Sig.Name {
		t.Errorf("Signature is not the wrapped model's")
	}
	m.Close()
	if !fake.Closed.Load() {
		t.Errorf("Close did not close the wrapped model")
	}

	// The delay ends early when the request does, with the context's error.
	slow := (TestFaults{Version: 1, Delay: time.Hour}).wrap(servingtest.NewImageModel(), "m", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := slow.Predict(ctx, inputs); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delay past the deadline: err = %v, want context.DeadlineExceeded", err)
	}
}

// TestTestFaultsEndToEnd serves the real SavedModel fixture as versions 1
// and 2 with --test-faults on version 2: through the HTTP API every second
// predict to version 2 answers 500 with a JSON error and every one waits at
// least the delay; version 1 is unaffected; the requests metric counts the
// 500s; over gRPC the fault is INTERNAL.
func TestTestFaultsEndToEnd(t *testing.T) {
	fixture := testmodel.Dir(t)
	base := t.TempDir()
	versionDir(t, fixture, base, 1)
	versionDir(t, fixture, base, 2)
	const delay = 200 * time.Millisecond
	grpcAddr := freeAddr(t)
	var logs servingtest.SyncBuffer
	url, _ := start(t, testConfig(t, base, "--model-version-policy=all", "--grpc-listen-addr="+grpcAddr,
		"--test-faults=version=2,delay="+delay.String()+",fail-every=2"), &logs)
	waitFor(t, "both versions", func() bool {
		_, resp := get(t, url+"/v1/models/imgclf")
		return strings.Contains(resp, `{"version":"1","state":"AVAILABLE"`) && strings.Contains(resp, `{"version":"2","state":"AVAILABLE"`)
	})
	for _, want := range []string{`"level":"WARN","msg":"--test-faults: faults are injected for version 2 of every model; for tests only"`,
		`"msg":"test faults injected into this version (--test-faults; for tests only)","model":"imgclf","version":2`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}

	img := base64.StdEncoding.EncodeToString(testmodel.Image(t, fixture, "image0.png"))
	body := []byte(`{"instances":[{"b64":"` + img + `"}]}`)
	var statuses []int
	for call := 1; call <= 6; call++ {
		began := time.Now()
		status, resp := post(t, url+"/v1/models/imgclf/versions/2:predict", "application/json", body)
		took := time.Since(began)
		statuses = append(statuses, status)
		if took < delay {
			t.Errorf("call %d to version 2 took %v, want at least the %v delay", call, took, delay)
		}
		if status == 500 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp), &e); err != nil || !strings.Contains(e.Error, "injected test fault") {
				t.Errorf("call %d: 500 with %s, want a JSON error saying it is an injected test fault", call, resp)
			}
		} else if !strings.Contains(resp, `"predictions"`) {
			t.Errorf("call %d: %d %s, want predictions", call, status, resp)
		}

		// Version 1, between the calls to version 2, answers every time.
		if status, resp := post(t, url+"/v1/models/imgclf/versions/1:predict", "application/json", body); status != 200 || !strings.Contains(resp, `"predictions"`) {
			t.Errorf("version 1 after call %d to version 2: %d %s, want 200", call, status, resp)
		}
	}
	if fmt.Sprint(statuses) != "[200 500 200 500 200 500]" {
		t.Errorf("version 2 answered %v, want [200 500 200 500 200 500]", statuses)
	}

	_, m := get(t, url+"/metrics")
	for _, want := range []string{`predictor_requests_total{code="500",endpoint="predict",model="imgclf",version="2"} 3`,
		`predictor_requests_total{code="200",endpoint="predict",model="imgclf",version="2"} 3`,
		`predictor_requests_total{code="200",endpoint="predict",model="imgclf",version="1"} 6`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
	if strings.Contains(m, `code="500",endpoint="predict",model="imgclf",version="1"`) {
		t.Errorf("/metrics counts a 500 from version 1")
	}

	// gRPC counts on: call 7 answers, call 8 is INTERNAL.
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := &apis.PredictRequest{
		ModelSpec: &apis.ModelSpec{Name: "imgclf", VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(2)}},
		Inputs: map[string]*framework.TensorProto{"image_bytes": {Dtype: framework.DataType_DT_STRING,
			TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 1}}},
			StringVal:   [][]byte{testmodel.Image(t, fixture, "image0.png")}}},
	}
	client := apis.NewPredictionServiceClient(conn)
	if _, err := client.Predict(context.Background(), req); err != nil {
		t.Errorf("gRPC call 7 to version 2: %v, want an answer", err)
	}
	_, err = client.Predict(context.Background(), req)
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "injected test fault") {
		t.Errorf("gRPC call 8 to version 2: %v %q, want INTERNAL saying it is an injected test fault", st.Code(), st.Message())
	}
}
