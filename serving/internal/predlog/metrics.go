package predlog

import "github.com/prometheus/client_golang/prometheus"

// Record outcomes, the label values of predictor_prediction_log_records_total
// (the files) and predictor_prediction_log_events_total (the event sink).
const (
	outcomeWritten    = "written"
	outcomeSent       = "sent"
	outcomeQueueFull  = "dropped_queue_full"
	outcomeStoreError = "dropped_store_error"
	outcomeSinkError  = "dropped_sink_error"
)

// metrics counts every record, file and event by what became of it.
type metrics struct {
	records *prometheus.CounterVec
	files   *prometheus.CounterVec
	backlog prometheus.Gauge
	events  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_prediction_log_records_total",
			Help: "Sampled prediction log records by outcome: written to the store, dropped because the queue was full (or the log closed, or the shutdown deadline passed first), or dropped with a file the store did not take.",
		}, []string{"outcome"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_prediction_log_files_total",
			Help: "Prediction log files by outcome: written, or failed (dropped from a full retry backlog, or left at the shutdown deadline).",
		}, []string{"outcome"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "predictor_prediction_log_backlog_bytes",
			Help: "Compressed bytes of rolled prediction log files waiting for the store (retry backlog).",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_prediction_log_events_total",
			Help: "Sampled prediction log records POSTed to the CloudEvents sink, by outcome: sent (2xx), dropped because a queue was full (or the log closed, or the shutdown deadline passed first), or dropped because the sink refused the event (4xx but 429) or kept failing (errors, 5xx, 429) through every retry.",
		}, []string{"outcome"}),
	}
	for _, o := range []string{outcomeWritten, outcomeQueueFull, outcomeStoreError} {
		m.records.WithLabelValues(o)
	}
	m.files.WithLabelValues("written")
	m.files.WithLabelValues("failed")
	for _, o := range []string{outcomeSent, outcomeQueueFull, outcomeSinkError} {
		m.events.WithLabelValues(o)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.records, m.files, m.backlog, m.events} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) dropped(outcome string, records int) {
	m.records.WithLabelValues(outcome).Add(float64(records))
}

func (m *metrics) fileWritten(records int) {
	m.files.WithLabelValues("written").Inc()
	m.records.WithLabelValues(outcomeWritten).Add(float64(records))
}

func (m *metrics) fileFailed(records int) {
	m.files.WithLabelValues("failed").Inc()
	m.records.WithLabelValues(outcomeStoreError).Add(float64(records))
}

func (m *metrics) event(outcome string) {
	m.events.WithLabelValues(outcome).Inc()
}
