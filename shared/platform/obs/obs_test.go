package obs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func TestLoggerCarriesRequestID(t *testing.T) {
	var buf bytes.Buffer
	ctx := obs.WithLogger(context.Background(), obs.NewLogger(&buf, "demo-fn"))
	ctx = obs.WithRequestID(ctx, "req-42")
	obs.Log(ctx).Info("hello", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	if line["request_id"] != "req-42" || line["function"] != "demo-fn" || line["msg"] != "hello" {
		t.Fatalf("line %v", line)
	}
	if obs.RequestID(ctx) != "req-42" {
		t.Fatal("request id not in context")
	}
}

func TestReadyNamesFailingDependency(t *testing.T) {
	h := obs.NewHealth()
	h.Add("surrealdb", func(context.Context) error { return nil })
	h.Add("nats", func(context.Context) error { return errors.New("connection refused") })
	rec := httptest.NewRecorder()
	h.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/health/ready", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("code %d", rec.Code)
	}
	var rep obs.Report
	_ = json.Unmarshal(rec.Body.Bytes(), &rep)
	if rep.Checks["surrealdb"] != "ok" || !strings.Contains(rep.Checks["nats"], "connection refused") {
		t.Fatalf("report %+v", rep)
	}

	rec = httptest.NewRecorder()
	h.LiveHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/health/live", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("live %d", rec.Code)
	}
}

func TestReadyCheckTimesOut(t *testing.T) {
	h := obs.NewHealth()
	h.Timeout = 50 * time.Millisecond
	h.Add("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	start := time.Now()
	rep := h.Ready(context.Background())
	if rep.Status == "ok" || time.Since(start) > 2*time.Second {
		t.Fatalf("rep %+v after %s", rep, time.Since(start))
	}
}

func TestMetricsExposeRequests(t *testing.T) {
	m := obs.NewMetrics()
	m.ObserveRequest("demo-fn", "GET", "/things/{id}", 200, 3*time.Millisecond)
	m.ObserveRequest("demo-fn", "GET", "/things/{id}", 503, time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`stratum_http_requests_total{code="200",function="demo-fn",method="GET",route="/things/{id}"} 1`,
		`stratum_errors_total{function="demo-fn",kind="http_5xx"} 1`,
		`stratum_http_request_duration_seconds_count{function="demo-fn",route="/things/{id}"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
