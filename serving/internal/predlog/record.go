package predlog

import (
	"encoding/json"
	"math"
)

// The record schema. Each file line is one Record. The JSON names are a
// contract with the files' readers (the pipeline's monitor step): change
// them only together.

// Record is one logged request.
type Record struct {
	Time      string     `json:"time"`       // when the model answered, RFC 3339 UTC, microseconds
	RequestID string     `json:"request_id"` // the X-Request-Id the server echoed
	Model     string     `json:"model"`
	Version   int64      `json:"version"`
	Endpoint  string     `json:"endpoint"`   // predict, classify, classify-image or infer
	LatencyMS float64    `json:"latency_ms"` // the model run, batching queue included
	Instances []Instance `json:"instances"`  // one per row of the batch, in order
}

// Instance is one row of a request.
type Instance struct {
	TopK  []Class `json:"top_k"`           // best first; empty without a scores output
	Input *Input  `json:"input,omitempty"` // for an encoded-image input only
}

// Class is one of a row's best classes.
type Class struct {
	Index int    `json:"index"`
	Label string `json:"label"` // "" when the version has no labels.txt line for it
	Score Score  `json:"score"`
}

// Input describes one input image.
type Input struct {
	Format     string   `json:"format"` // jpeg, png, gif or bmp, from the magic number
	Width      int64    `json:"width"`  // from the header
	Height     int64    `json:"height"`
	Brightness *float64 `json:"brightness"`       // mean luma in [0, 1]; null when it does not decode
	SHA256     string   `json:"sha256,omitempty"` // with Inputs hash or bytes
	Bytes      []byte   `json:"bytes,omitempty"`  // with Inputs bytes (base64 in JSON)
}

// Score is a class score; a model that answers NaN or an infinity gets
// null, which JSON can carry, instead of failing the whole line.
type Score float32

// MarshalJSON writes the score as encoding/json writes a float32.
func (s Score) MarshalJSON() ([]byte, error) {
	if f := float64(s); math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float32(s))
}
