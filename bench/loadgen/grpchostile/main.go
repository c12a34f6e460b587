// Command grpchostile is the soak's hostile-input run over gRPC
// (bench/soak/scenarios.py, hostile_grpc_inputs): it sends the predictor's
// gRPC predict calls a catalogue of bad requests (bytes that are not a
// protobuf message or are cut short, wrong dtypes, shapes that do not match
// their contents, BYTES elements that are not images or claim more pixels
// than the limit, messages over the size limit, unknown models, versions,
// inputs, outputs and methods) and seeded mutations of a valid
// PredictRequest's and ModelInferRequest's wire bytes, then a valid request
// of each API. It prints one JSON object: every call's gRPC code and, for an
// OK, the prediction; the soak judges them.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/imgclf/serving/bench/loadgen/grpcreq"
	"github.com/imgclf/serving/internal/gen/kservev2/inference"
	"github.com/imgclf/serving/internal/gen/tensorflow/core/framework"
	"github.com/imgclf/serving/internal/gen/tensorflow_serving/apis"
)

// Case is one call to send: its method and the request's wire bytes.
type Case struct {
	Kind   string `json:"kind"` // "catalogue" or "mutant"
	API    string `json:"api"`  // "predict" or "infer"
	Name   string `json:"name"`
	method string
	body   []byte
}

// Answer is how the server answered one Case.
type Answer struct {
	Case
	Code          string    `json:"code"` // gRPC code name: "OK", "InvalidArgument", ...
	Message       string    `json:"message,omitempty"`
	Probabilities []float32 `json:"probabilities,omitempty"` // an OK's prediction
	Seconds       float64   `json:"seconds"`
}

// Report is what grpchostile prints.
type Report struct {
	Answers    []Answer `json:"answers"`
	ValidAfter []Answer `json:"valid_after"` // a valid request of each API, sent last
}

func main() {
	addr := flag.String("addr", "", "host:port of the predictor's gRPC listener")
	model := flag.String("model", "", "the served model's name")
	imageFile := flag.String("image", "", "an image the model accepts")
	mutations := flag.Int("mutations", 50, "seeded mutations of each valid request")
	seed := flag.Uint64("seed", 0, "seed of the mutations")
	maxBytes := flag.Int("max-bytes", 16<<20, "the server's --max-body-bytes: the oversize cases exceed it")
	maxPixels := flag.Int64("max-pixels", 40_000_000, "the server's --max-image-pixels: the large-image cases exceed it")
	timeout := flag.Duration("timeout", 60*time.Second, "per-call timeout")
	flag.Parse()
	img, err := os.ReadFile(*imageFile)
	if err != nil || *addr == "" || *model == "" {
		fmt.Fprintf(os.Stderr, "grpchostile: -addr, -model and a readable -image are required (%v)\n", err)
		os.Exit(2)
	}
	cases := Catalogue(*model, img, *maxBytes, *maxPixels)
	cases = append(cases, Mutants(*model, img, *mutations, *seed)...)
	conns, err := grpcreq.Dial(*addr, 1, math.MaxInt32)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpchostile: %v\n", err)
		os.Exit(2)
	}
	defer conns[0].Close()
	var r Report
	for _, c := range cases {
		r.Answers = append(r.Answers, send(conns[0], c, *timeout))
	}
	for _, api := range []string{"predict", "infer"} {
		r.ValidAfter = append(r.ValidAfter, send(conns[0], valid(api, *model, img), *timeout))
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		os.Exit(1)
	}
}

// send makes one call with c's bytes as they are and records the answer.
func send(cc *grpc.ClientConn, c Case, timeout time.Duration) Answer {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var reply grpcreq.Frame
	t0 := time.Now()
	err := cc.Invoke(ctx, c.method, grpcreq.Frame(c.body), &reply, grpc.ForceCodec(grpcreq.RawCodec{}))
	st := status.Convert(err)
	a := Answer{Case: c, Code: st.Code().String(), Message: st.Message(), Seconds: time.Since(t0).Seconds()}
	if len(a.Message) > 300 {
		a.Message = a.Message[:300] + "..."
	}
	if err == nil {
		if p, err := grpcreq.Decode(c.API, reply); err == nil {
			a.Probabilities = p.Probabilities
		} else {
			a.Message = err.Error()
		}
	}
	return a
}

func valid(api, model string, img []byte) Case {
	b, err := grpcreq.Request(api, model, img)
	if err != nil {
		panic(err) // api is one of the two
	}
	return Case{Kind: "valid", API: api, Name: "valid " + api, method: grpcreq.Method[api], body: b}
}

func marshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err) // every message here is well formed
	}
	return b
}

// Catalogue is the bad requests every server must refuse with a client error.
func Catalogue(model string, img []byte, maxBytes int, maxPixels int64) []Case {
	huge := hugePNG(maxPixels)
	notImage, cut := []byte("hello, not an image"), img[:len(img)/2]
	over := bytes.Repeat([]byte{'A'}, maxBytes+1)
	var out []Case
	add := func(api, name string, body []byte) {
		out = append(out, Case{Kind: "catalogue", API: api, Name: name, method: grpcreq.Method[api], body: body})
	}
	for _, api := range []string{"predict", "infer"} {
		v := valid(api, model, img).body
		add(api, "not protobuf: JSON", []byte(`{"instances": [{"b64": "AAAA"}]}`))
		add(api, "not protobuf: bad wire type", []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
		add(api, "truncated message", v[:len(v)/2])
		add(api, "length past the end", append(append([]byte{}, v[:3]...), 0xff, 0xff, 0x7f))
		add(api, "empty message", nil)
		add(api, "oversize message", append(append([]byte{}, v...), marshalOversize(api, over)...))
	}
	str := func(shape []int64, vals ...[]byte) *framework.TensorProto {
		t := &framework.TensorProto{Dtype: framework.DataType_DT_STRING, TensorShape: &framework.TensorShapeProto{}, StringVal: vals}
		for _, d := range shape {
			t.TensorShape.Dim = append(t.TensorShape.Dim, &framework.TensorShapeProto_Dim{Size: d})
		}
		return t
	}
	predict := func(name string, mutate func(*apis.PredictRequest)) {
		req := grpcreq.PredictRequest(model, img)
		mutate(req)
		add("predict", name, marshal(req))
	}
	in := func(t *framework.TensorProto) func(*apis.PredictRequest) {
		return func(r *apis.PredictRequest) { r.Inputs["image_bytes"] = t }
	}
	predict("no model name", func(r *apis.PredictRequest) { r.ModelSpec.Name = "" })
	predict("unknown model", func(r *apis.PredictRequest) { r.ModelSpec.Name = "nope" })
	predict("unknown version", func(r *apis.PredictRequest) {
		r.ModelSpec.VersionChoice = &apis.ModelSpec_Version{Version: wrapperspb.Int64(99)}
	})
	predict("negative version", func(r *apis.PredictRequest) {
		r.ModelSpec.VersionChoice = &apis.ModelSpec_Version{Version: wrapperspb.Int64(-1)}
	})
	predict("unknown version label", func(r *apis.PredictRequest) {
		r.ModelSpec.VersionChoice = &apis.ModelSpec_VersionLabel{VersionLabel: "nope"}
	})
	predict("unknown signature", func(r *apis.PredictRequest) { r.ModelSpec.SignatureName = "nope" })
	predict("no inputs", func(r *apis.PredictRequest) { r.Inputs = nil })
	predict("unknown input", func(r *apis.PredictRequest) { r.Inputs["nope"] = r.Inputs["image_bytes"] })
	predict("unknown output filter", func(r *apis.PredictRequest) { r.OutputFilter = []string{"nope"} })
	predict("wrong dtype: float", in(&framework.TensorProto{Dtype: framework.DataType_DT_FLOAT,
		TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 2}}}, FloatVal: []float32{1, 2}}))
	predict("wrong dtype: int32 with string values", in(&framework.TensorProto{Dtype: framework.DataType_DT_INT32,
		TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 1}}}, StringVal: [][]byte{img}}))
	predict("shape [3], one value", in(str([]int64{3}, img)))
	predict("shape [1], two values", in(str([]int64{1}, img, img)))
	predict("shape [-1]", in(str([]int64{-1}, img)))
	predict("shape [0], no values", in(str([]int64{0})))
	predict("string tensor in tensor_content", in(&framework.TensorProto{Dtype: framework.DataType_DT_STRING,
		TensorShape: &framework.TensorShapeProto{Dim: []*framework.TensorShapeProto_Dim{{Size: 1}}}, TensorContent: img}))
	predict("not an image", in(str([]int64{1}, notImage)))
	predict("truncated image", in(str([]int64{1}, cut)))
	predict("one bad image of two", in(str([]int64{2}, img, notImage)))
	predict("image over the pixel limit", in(str([]int64{1}, huge)))
	predict("empty image", in(str([]int64{1}, nil)))

	infer := func(name string, mutate func(*inference.ModelInferRequest)) {
		req := grpcreq.InferRequest(model, img)
		mutate(req)
		add("infer", name, marshal(req))
	}
	raw := func(elems ...[]byte) [][]byte {
		var b []byte
		for _, e := range elems {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
			b = append(b, e...)
		}
		return [][]byte{b}
	}
	infer("no model name", func(r *inference.ModelInferRequest) { r.ModelName = "" })
	infer("unknown model", func(r *inference.ModelInferRequest) { r.ModelName = "nope" })
	infer("unknown version", func(r *inference.ModelInferRequest) { r.ModelVersion = "99" })
	infer("non-numeric version", func(r *inference.ModelInferRequest) { r.ModelVersion = "one" })
	infer("no inputs", func(r *inference.ModelInferRequest) { r.Inputs, r.RawInputContents = nil, nil })
	infer("unknown input", func(r *inference.ModelInferRequest) { r.Inputs[0].Name = "nope" })
	infer("input named twice", func(r *inference.ModelInferRequest) {
		r.Inputs = append(r.Inputs, r.Inputs[0])
		r.RawInputContents = append(r.RawInputContents, r.RawInputContents[0])
	})
	infer("unknown output", func(r *inference.ModelInferRequest) {
		r.Outputs = []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "nope"}}
	})
	infer("wrong dtype: FP32", func(r *inference.ModelInferRequest) {
		r.Inputs[0].Datatype, r.RawInputContents = "FP32", [][]byte{make([]byte, 4)}
	})
	infer("unknown dtype", func(r *inference.ModelInferRequest) { r.Inputs[0].Datatype = "COMPLEX" })
	infer("shape [2], one element", func(r *inference.ModelInferRequest) { r.Inputs[0].Shape = []int64{2} })
	infer("shape [1], two elements", func(r *inference.ModelInferRequest) { r.RawInputContents = raw(img, img) })
	infer("shape [-1]", func(r *inference.ModelInferRequest) { r.Inputs[0].Shape = []int64{-1} })
	infer("no shape", func(r *inference.ModelInferRequest) { r.Inputs[0].Shape = nil })
	infer("length prefix past the end", func(r *inference.ModelInferRequest) {
		r.RawInputContents = [][]byte{append(binary.LittleEndian.AppendUint32(nil, 1<<30), img[:10]...)}
	})
	infer("length prefix cut short", func(r *inference.ModelInferRequest) { r.RawInputContents = [][]byte{{1, 0}} })
	infer("more raw contents than inputs", func(r *inference.ModelInferRequest) {
		r.RawInputContents = append(r.RawInputContents, r.RawInputContents[0])
	})
	infer("raw and typed contents", func(r *inference.ModelInferRequest) {
		r.Inputs[0].Contents = &inference.InferTensorContents{BytesContents: [][]byte{img}}
	})
	infer("typed contents of the wrong type", func(r *inference.ModelInferRequest) {
		r.RawInputContents = nil
		r.Inputs[0].Contents = &inference.InferTensorContents{Fp32Contents: []float32{1}}
	})
	infer("not an image", func(r *inference.ModelInferRequest) { r.RawInputContents = raw(notImage) })
	infer("truncated image", func(r *inference.ModelInferRequest) { r.RawInputContents = raw(cut) })
	infer("image over the pixel limit", func(r *inference.ModelInferRequest) { r.RawInputContents = raw(huge) })
	infer("typed image over the pixel limit", func(r *inference.ModelInferRequest) {
		r.RawInputContents = nil
		r.Inputs[0].Contents = &inference.InferTensorContents{BytesContents: [][]byte{huge}}
	})
	infer("empty image", func(r *inference.ModelInferRequest) { r.RawInputContents = raw(nil) })

	for _, m := range []string{"/tensorflow.serving.PredictionService/Regress", "/inference.GRPCInferenceService/Nope", "/nope.Service/Predict"} {
		out = append(out, Case{Kind: "catalogue", API: "predict", Name: "unknown method " + m, method: m})
	}
	return out
}

// marshalOversize is an extra field of over's bytes appended to a valid
// request of api: a string_val element of the input tensor (Predict), or a
// raw_input_contents entry (ModelInfer). Appending to a message merges.
func marshalOversize(api string, over []byte) []byte {
	if api == "predict" {
		return marshal(&apis.PredictRequest{Inputs: map[string]*framework.TensorProto{"image_bytes": {StringVal: [][]byte{over}}}})
	}
	return marshal(&inference.ModelInferRequest{RawInputContents: [][]byte{over}})
}

// hugePNG is a 1x1 PNG whose header claims more pixels than maxPixels: the
// server must refuse it from the header, before decoding.
func hugePNG(maxPixels int64) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err)
	}
	b := buf.Bytes()
	side := uint32(min(math.Sqrt(float64(maxPixels))*2+1, math.MaxInt32))
	// The signature (8 bytes), then IHDR: length (4), type (4), width, height, ..., CRC.
	binary.BigEndian.PutUint32(b[16:], side)
	binary.BigEndian.PutUint32(b[20:], side)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// Mutants are count seeded byte flips, cuts and insertions of each valid
// request's wire bytes, as the REST soak mutates its JSON body.
func Mutants(model string, img []byte, count int, seed uint64) []Case {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []Case
	for i := range 2 * count {
		api := []string{"predict", "infer"}[i%2]
		body := append([]byte{}, valid(api, model, img).body...)
		for range 1 + rng.IntN(4) {
			j := rng.IntN(len(body))
			switch rng.IntN(3) {
			case 0:
				body[j] = byte(rng.IntN(256))
			case 1:
				body = append(body[:j], body[min(len(body), j+1+rng.IntN(64)):]...)
			default:
				ins := make([]byte, 1+rng.IntN(8))
				for k := range ins {
					ins[k] = byte(rng.IntN(256))
				}
				body = append(body[:j], append(ins, body[j:]...)...)
			}
		}
		out = append(out, Case{Kind: "mutant", API: api, Name: fmt.Sprintf("mutant %d", i), method: grpcreq.Method[api], body: body})
	}
	return out
}
