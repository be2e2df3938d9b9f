package obs

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the per-function Prometheus series. One Metrics serves every
// function of a process (the devstack runs many); the function is a label.
type Metrics struct {
	Registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	processed *prometheus.CounterVec
}

// NewMetrics registers the series, plus Go and process collectors, on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stratum_http_requests_total", Help: "HTTP requests by function, route and status code.",
		}, []string{"function", "method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stratum_http_request_duration_seconds", Help: "HTTP request latency by function and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"function", "route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stratum_errors_total", Help: "Errors by function and kind (http_5xx, http_4xx, consumer, panic).",
		}, []string{"function", "kind"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stratum_messages_total", Help: "Bus messages handled by consumer function and outcome.",
		}, []string{"function", "outcome"}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.errors, m.processed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(function, method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(function, method, route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(function, route).Observe(d.Seconds())
	switch {
	case code >= 500:
		m.errors.WithLabelValues(function, "http_5xx").Inc()
	case code >= 400:
		m.errors.WithLabelValues(function, "http_4xx").Inc()
	}
}

// ObserveError counts an error of some kind (panic, consumer).
func (m *Metrics) ObserveError(function, kind string) {
	m.errors.WithLabelValues(function, kind).Inc()
}

// ObserveMessage counts a handled bus message: acked, retried, dead-lettered.
func (m *Metrics) ObserveMessage(function, outcome string) {
	m.processed.WithLabelValues(function, outcome).Inc()
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
