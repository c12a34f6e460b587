// Package metrics holds the predictor's Prometheus collectors, registered
// on a registry the caller owns (never the global one).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/registry"
	"github.com/imgclf/serving/internal/reqinfo"
)

// Metrics records requests, batches and model loads.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	batchRows    *prometheus.HistogramVec
	loadDuration *prometheus.HistogramVec
	loadFailures *prometheus.CounterVec
}

var _ reqinfo.Observer = (*Metrics)(nil)

// New registers the predictor's collectors, Go runtime and process
// collectors, and gauges read from models (loaded versions, queue depth)
// on reg.
func New(reg *prometheus.Registry, models *registry.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_requests_total",
			Help: "HTTP requests by model, version, endpoint and status code (model and version empty when none was resolved).",
		}, []string{"model", "version", "endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "predictor_request_duration_seconds",
			Help:    "HTTP request latency by model and endpoint.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"model", "endpoint"}),
		batchRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "predictor_batch_size",
			Help:    "Rows (images) per session run.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"model"}),
		loadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "predictor_model_load_duration_seconds",
			Help:    "Time to fetch, load and warm up a model version, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
		}, []string{"model", "outcome"}),
		loadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "predictor_model_load_failures_total",
			Help: "Model version loads that failed.",
		}, []string{"model"}),
	}
	reg.MustRegister(m.requests, m.latency, m.batchRows, m.loadDuration, m.loadFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&modelCollector{models: models})
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest implements reqinfo.Observer.
func (m *Metrics) ObserveRequest(model, version, endpoint string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(model, version, endpoint, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(model, endpoint).Observe(elapsed.Seconds())
}

// ObserveBatch records one session run of rows rows.
func (m *Metrics) ObserveBatch(model string, rows int) {
	m.batchRows.WithLabelValues(model).Observe(float64(rows))
}

// ObserveLoad records one load attempt.
func (m *Metrics) ObserveLoad(model string, _ int64, elapsed time.Duration, err error) {
	outcome := "success"
	if err != nil {
		outcome = "failure"
		m.loadFailures.WithLabelValues(model).Inc()
	}
	m.loadDuration.WithLabelValues(model, outcome).Observe(elapsed.Seconds())
}

// modelCollector reads gauges from the model registry at scrape time.
type modelCollector struct {
	models *registry.Registry
}

var (
	loadedVersionDesc = prometheus.NewDesc("predictor_model_loaded_version",
		"Newest AVAILABLE version of each model (absent until one loads).", []string{"model"}, nil)
	versionsDesc = prometheus.NewDesc("predictor_model_versions",
		"Versions of each model by state.", []string{"model", "state"}, nil)
	queueDesc = prometheus.NewDesc("predictor_queue_depth",
		"Requests waiting for a session run, by model and version.", []string{"model", "version"}, nil)
)

// queued is what batcher.Batcher offers.
type queued interface{ QueueLen() int }

func (c *modelCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- loadedVersionDesc
	ch <- versionsDesc
	ch <- queueDesc
}

func (c *modelCollector) Collect(ch chan<- prometheus.Metric) {
	newest := map[string]int64{}
	states := map[[2]string]int{}
	c.models.Each(func(name string, version int64, state registry.State, m serving.Model) {
		states[[2]string{name, string(state)}]++
		if state != registry.StateAvailable {
			return
		}
		if v, ok := newest[name]; !ok || version > v {
			newest[name] = version
		}
		if q, ok := m.(queued); ok {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(q.QueueLen()), name, strconv.FormatInt(version, 10))
		}
	})
	for name, v := range newest {
		ch <- prometheus.MustNewConstMetric(loadedVersionDesc, prometheus.GaugeValue, float64(v), name)
	}
	for k, n := range states {
		ch <- prometheus.MustNewConstMetric(versionsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
