package obs

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metrics are the per-function Prometheus series. One Metrics serves every
// function of a process (the devstack runs many); the function is a label.
//
// They are written in the Prometheus text exposition format (0.0.4) by this
// package: the client library's registry links protobuf into every bootstrap
// for a format nobody here scrapes.
type Metrics struct {
	requests  *family
	latency   *family
	errors    *family
	processed *family
	started   time.Time
}

// latencyBuckets are the upper bounds (seconds) of the request latency histogram.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics makes the series; the Go runtime's and the process's are read
// when served.
func NewMetrics() *Metrics {
	return &Metrics{
		requests: newFamily("stratum_http_requests_total", "HTTP requests by function, route and status code.",
			"counter", nil, "function", "method", "route", "code"),
		latency: newFamily("stratum_http_request_duration_seconds", "HTTP request latency by function and route.",
			"histogram", latencyBuckets, "function", "route"),
		errors: newFamily("stratum_errors_total", "Errors by function and kind (http_5xx, http_4xx, consumer, panic).",
			"counter", nil, "function", "kind"),
		processed: newFamily("stratum_messages_total", "Bus messages handled by consumer function and outcome.",
			"counter", nil, "function", "outcome"),
		started: time.Now(),
	}
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(function, method, route string, code int, d time.Duration) {
	m.requests.add(1, function, method, route, strconv.Itoa(code))
	m.latency.observe(d.Seconds(), function, route)
	switch {
	case code >= 500:
		m.errors.add(1, function, "http_5xx")
	case code >= 400:
		m.errors.add(1, function, "http_4xx")
	}
}

// ObserveError counts an error of some kind (panic, consumer).
func (m *Metrics) ObserveError(function, kind string) {
	m.errors.add(1, function, kind)
}

// ObserveMessage counts a handled bus message: acked, retried, dead-lettered.
func (m *Metrics) ObserveMessage(function, outcome string) {
	m.processed.add(1, function, outcome)
}

// Handler serves every series in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = m.Write(w)
	})
}

// Write writes every series in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) error {
	var b strings.Builder
	for _, f := range []*family{m.requests, m.latency, m.errors, m.processed} {
		f.write(&b)
	}
	m.writeRuntime(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRuntime writes the Go runtime's and the process's gauges under the
// names the client library's collectors use.
func (m *Metrics) writeRuntime(b *strings.Builder) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, formatValue(v))
	}
	gauge("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	gauge("go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use.", float64(ms.HeapAlloc))
	gauge("go_memstats_sys_bytes", "Number of bytes obtained from system.", float64(ms.Sys))
	gauge("go_memstats_heap_objects", "Number of currently allocated objects.", float64(ms.HeapObjects))
	gauge("go_threads", "Number of OS threads created.", float64(threads()))
	fmt.Fprintf(b, "# HELP go_gc_cycles_total Number of completed GC cycles.\n# TYPE go_gc_cycles_total counter\ngo_gc_cycles_total %d\n", ms.NumGC)
	fmt.Fprintf(b, "# HELP go_info Information about the Go environment.\n# TYPE go_info gauge\ngo_info{version=\"%s\"} 1\n",
		labelEscaper.Replace(runtime.Version()))
	gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
		float64(m.started.UnixNano())/1e9)
}

func threads() int {
	n, _ := runtime.ThreadCreateProfile(nil)
	return n
}

// family is one metric name with its series, by label values.
type family struct {
	name, help, kind string
	labels           []string
	buckets          []float64 // histograms only
	order            []int     // label indexes sorted by label name
	mu               sync.Mutex
	series           map[string]*series
}

type series struct {
	values []string
	value  float64  // counters
	counts []uint64 // histograms: per bucket, not cumulative
	sum    float64
	count  uint64
}

func newFamily(name, help, kind string, buckets []float64, labels ...string) *family {
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return labels[order[i]] < labels[order[j]] })
	return &family{name: name, help: help, kind: kind, labels: labels, buckets: buckets, order: order,
		series: map[string]*series{}}
}

func (f *family) get(values []string) *series {
	key := strings.Join(values, "\xff")
	s, ok := f.series[key]
	if !ok {
		s = &series{values: append([]string(nil), values...), counts: make([]uint64, len(f.buckets))}
		f.series[key] = s
	}
	return s
}

func (f *family) add(v float64, values ...string) {
	f.mu.Lock()
	f.get(values).value += v
	f.mu.Unlock()
}

func (f *family) observe(v float64, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.get(values)
	s.sum += v
	s.count++
	for i, upper := range f.buckets {
		if v <= upper {
			s.counts[i]++
			break
		}
	}
}

func (f *family) write(b *strings.Builder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.series) == 0 {
		return
	}
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.kind)
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := f.series[k]
		labels := f.labelText(s.values)
		if f.kind != "histogram" {
			fmt.Fprintf(b, "%s{%s} %s\n", f.name, labels, formatValue(s.value))
			continue
		}
		var cum uint64
		for i, upper := range f.buckets {
			cum += s.counts[i]
			fmt.Fprintf(b, "%s_bucket{%s,le=\"%s\"} %d\n", f.name, labels, formatValue(upper), cum)
		}
		fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %d\n", f.name, labels, s.count)
		fmt.Fprintf(b, "%s_sum{%s} %s\n%s_count{%s} %d\n", f.name, labels, formatValue(s.sum), f.name, labels, s.count)
	}
}

// labelText is name="value" pairs sorted by name, as the client library writes them.
func (f *family) labelText(values []string) string {
	parts := make([]string, len(f.order))
	for i, j := range f.order {
		parts[i] = f.labels[j] + `="` + labelEscaper.Replace(values[j]) + `"`
	}
	return strings.Join(parts, ",")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
