package predlog

import (
	"context"
	"time"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/scores"
)

// model is a serving.Model whose sampled answers are logged.
type model struct {
	serving.Model
	log       *Log
	name      string
	version   int64
	labels    []string
	scoresKey string // "" when the signature has no scores output
	imageKey  string // "" when its input is not one encoded-image string tensor
}

// job is what Predict hands the encoder: references, no copies. The
// server neither changes a request's input tensors nor the outputs it got
// back once Predict has returned, so they can be read later.
type job struct {
	model     *model
	at        time.Time // when the model answered
	latency   time.Duration
	requestID string
	endpoint  string
	rows      int             // the batch size, from the inputs
	images    [][]byte        // the encoded images, when the input is one
	scores    *serving.Tensor // the scores output; nil without one
	size      int64           // bytes of images, for the queue's byte bound
}

// Wrap returns m logging its sampled answers as model name, version; labels
// name the classes (nil when the version has none). Wrap the whole queueing
// model (the batcher), so latency includes the queue, and close m as usual:
// its Close is m's.
func (l *Log) Wrap(m serving.Model, name string, version int64, labels []string) serving.Model {
	if l == nil {
		return m
	}
	sig := m.Signature()
	w := &model{Model: m, log: l, name: name, version: version, labels: labels, imageKey: imageInput(sig)}
	w.scoresKey, _ = scores.Output(sig)
	return w
}

// Predict runs the wrapped model and, when the request is sampled, queues
// its record; that never waits and never changes the answer.
func (m *model) Predict(ctx context.Context, inputs map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
	start := time.Now()
	outputs, err := m.Model.Predict(ctx, inputs)
	if err != nil || !m.log.sampled() {
		return outputs, err
	}
	now := time.Now()
	j := &job{model: m, at: now, latency: now.Sub(start), requestID: m.log.opts.RequestID(ctx),
		endpoint: m.log.opts.Endpoint(ctx), rows: batchRows(inputs), scores: outputs[m.scoresKey]}
	if t := inputs[m.imageKey]; t != nil && m.imageKey != "" {
		j.images = t.Strings
		for _, b := range t.Strings {
			j.size += int64(len(b))
		}
	}
	m.log.enqueue(j)
	return outputs, nil
}

// QueueLen is the wrapped model's (the batcher's), so the queue depth
// metric still sees it.
func (m *model) QueueLen() int {
	if q, ok := m.Model.(interface{ QueueLen() int }); ok {
		return q.QueueLen()
	}
	return 0
}

// imageInput returns the key of the signature's encoded-image input: its
// only input, when that is a DT_STRING tensor; else "".
func imageInput(sig serving.Signature) string {
	if len(sig.Inputs) != 1 {
		return ""
	}
	for k, info := range sig.Inputs {
		if info.DType == serving.DTString {
			return k
		}
	}
	return ""
}

// batchRows is the batch size: the first dimension of an input (1 for
// scalars).
func batchRows(inputs map[string]*serving.Tensor) int {
	for _, t := range inputs {
		if len(t.Shape) > 0 {
			return int(t.Shape[0])
		}
	}
	return 1
}
