package predlog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/imgclf/serving/internal/imageheader"
	"github.com/imgclf/serving/internal/scores"
)

// timeLayout is RFC 3339 in UTC with microseconds, as the record schema
// fixes it.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// encode is the encoder goroutine: it turns queued records into lines of
// open files (and events) and rolls files by age, until Close closes the
// queue; then it rolls every file and tells the uploader and the event
// senders no more will come.
func (l *Log) encode() {
	defer l.finishSinks()
	tick := min(max(l.opts.FlushInterval/10, 10*time.Millisecond), time.Second)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case j, ok := <-l.queue:
			if !ok {
				if l.files != nil {
					l.files.rollAll()
				}
				return
			}
			l.queuedBytes.Add(-j.size)
			if l.abort.Err() != nil { // Close's deadline passed: count the rest, quickly
				l.droppedUnencoded(true)
				continue
			}
			rec := l.record(j)
			line, _ := json.Marshal(rec) // cannot fail: no channels, funcs or NaNs (see Score)
			if l.files != nil {          // before the event: append may write past line's end, in the same array
				l.files.add(partition{model: rec.Model, version: rec.Version, date: rec.Time[:len("2006-01-02")]}, j.at, append(line, '\n'))
			}
			if l.events != nil {
				l.events.add(&rec, line)
			}
		case now := <-ticker.C:
			if l.files != nil {
				l.files.rollOlderThan(now.Add(-l.opts.FlushInterval))
			}
		}
	}
}

// finishSinks tells the uploader and the event senders that the encoder
// is done.
func (l *Log) finishSinks() {
	if l.uploader != nil {
		l.uploader.finish()
	}
	if l.events != nil {
		l.events.finish()
	}
}

// record builds j's line: one instance per row, with the top classes of
// the row's scores and, for an encoded-image input, what the image is.
func (l *Log) record(j *job) Record {
	rec := Record{
		Time:      j.at.UTC().Format(timeLayout),
		RequestID: j.requestID,
		Model:     j.model.name,
		Version:   j.model.version,
		Endpoint:  contractEndpoint(j.endpoint),
		LatencyMS: float64(j.latency.Microseconds()) / 1000,
	}
	var rows [][]float32
	if j.scores != nil && j.scores.Validate() == nil {
		rows, _ = scores.Rows(j.scores)
	}
	n := j.rows
	if rows != nil {
		n = len(rows)
	}
	rec.Instances = make([]Instance, n)
	for i := range rec.Instances {
		inst := &rec.Instances[i]
		inst.TopK = []Class{}
		if i < len(rows) {
			for _, c := range scores.TopK(rows[i], l.opts.TopK, j.model.labels) {
				inst.TopK = append(inst.TopK, Class{Index: c.Index, Label: c.Label, Score: Score(c.Score)})
			}
		}
		if i < len(j.images) {
			inst.Input = l.describe(j.images[i])
		}
	}
	return rec
}

// describe is what a record says about one encoded image.
func (l *Log) describe(b []byte) *Input {
	in := &Input{Format: imageheader.Format(b)}
	if in.Format != "" {
		in.Width, in.Height, _ = imageheader.Size(in.Format, b)
	}
	if v, ok := brightness(b); ok {
		in.Brightness = &v
	}
	if l.opts.Inputs >= InputsHash {
		sum := sha256.Sum256(b)
		in.SHA256 = hex.EncodeToString(sum[:])
	}
	if l.opts.Inputs == InputsBytes {
		in.Bytes = b
	}
	return in
}

// contractEndpoint maps the access log's endpoint names to the record
// schema's: "classify_image" -> "classify-image", "v2_infer" -> "infer".
func contractEndpoint(e string) string {
	switch e {
	case "classify_image":
		return "classify-image"
	case "v2_infer":
		return "infer"
	}
	return e
}
