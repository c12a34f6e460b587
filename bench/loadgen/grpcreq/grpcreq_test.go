package grpcreq

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
)

func TestRawCodecPassesBytesThrough(t *testing.T) {
	want, err := Request("predict", "m", []byte("img"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := RawCodec{}.Marshal(Frame(want))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Marshal changed the bytes (err %v)", err)
	}
	var f Frame
	if err := (RawCodec{}).Unmarshal(want, &f); err != nil || !bytes.Equal(f, want) {
		t.Fatalf("Unmarshal changed the bytes (err %v)", err)
	}
	if _, err := (RawCodec{}).Marshal(&apis.PredictRequest{}); err == nil {
		t.Error("Marshal of a message: want an error (the raw codec sends bytes only)")
	}
}

func TestRequestsCarryTheImage(t *testing.T) {
	b, err := Request("infer", "m", []byte("img"))
	if err != nil {
		t.Fatal(err)
	}
	var req inference.ModelInferRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	if raw := req.GetRawInputContents(); req.GetModelName() != "m" || len(raw) != 1 || !bytes.Equal(raw[0], []byte("\x03\x00\x00\x00img")) {
		t.Errorf("got %v, want model m and one length-prefixed element", &req)
	}
	if _, err := Request("classify", "m", nil); err == nil {
		t.Error("api classify: want an error")
	}
}
