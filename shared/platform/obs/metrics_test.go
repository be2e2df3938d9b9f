package obs_test

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// What /metrics serves parses with Prometheus's own text parser, with the
// types, cumulative buckets and escaped label values a scraper reads.
func TestMetricsAreValidPrometheusText(t *testing.T) {
	m := obs.NewMetrics()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.ObserveRequest("fn", "GET", "/a", 200, time.Duration(i)*time.Millisecond)
		}()
	}
	wg.Wait()
	m.ObserveRequest("fn", "POST", `/q"uote\`+"\n", 404, 20*time.Second)
	m.ObserveMessage("fn-consumer", "retried")
	m.ObserveError("fn", "panic")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, rec.Body.String())
	}
	for name, typ := range map[string]string{"stratum_http_requests_total": "COUNTER", "stratum_http_request_duration_seconds": "HISTOGRAM",
		"stratum_errors_total": "COUNTER", "stratum_messages_total": "COUNTER", "go_goroutines": "GAUGE", "process_start_time_seconds": "GAUGE"} {
		f, ok := families[name]
		if !ok || f.GetType().String() != typ {
			t.Errorf("%s: %v, want %s", name, f.GetType(), typ)
		}
	}
	for _, metric := range families["stratum_http_request_duration_seconds"].GetMetric() {
		h := metric.GetHistogram()
		route := ""
		for _, l := range metric.GetLabel() {
			if l.GetName() == "route" {
				route = l.GetValue()
			}
		}
		switch route {
		case "/a":
			// 0..49 ms: 1 at ≤0.5 ms (0 ms), 50 at ≤50 ms, all 50 counted.
			if h.GetSampleCount() != 50 || h.GetBucket()[0].GetCumulativeCount() != 1 || bucket(h.GetBucket(), 0.05) != 50 {
				t.Errorf("/a histogram %v", h)
			}
		case `/q"uote\` + "\n":
			if h.GetSampleCount() != 1 || bucket(h.GetBucket(), 10) != 0 || h.GetSampleSum() != 20 {
				t.Errorf("20 s request %v", h)
			}
		default:
			t.Errorf("route label %q", route)
		}
	}
	if got := families["stratum_http_requests_total"].GetMetric(); len(got) != 2 {
		t.Errorf("%d request series, want 2", len(got))
	}
}

func bucket[B interface {
	GetUpperBound() float64
	GetCumulativeCount() uint64
}](bs []B, upper float64) uint64 {
	for _, b := range bs {
		if b.GetUpperBound() == upper {
			return b.GetCumulativeCount()
		}
	}
	return 1 << 63
}
