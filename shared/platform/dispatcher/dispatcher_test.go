package dispatcher

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func TestProbeAcceptsOnly200(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	if err := Probe(context.Background(), srv.URL+"/health"); err != nil {
		t.Fatalf("200: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := Probe(context.Background(), srv.URL+"/health"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: %v", err)
	}
}

func TestRunNeedsNATS(t *testing.T) {
	err := Run(context.Background(), Config{}, obs.NewLogger(io.Discard, "test"))
	if err == nil || !strings.Contains(err.Error(), "nats-url") {
		t.Fatalf("got %v", err)
	}
}

func TestFlags(t *testing.T) {
	t.Setenv("NATS_URL", "nats://from-env:4222")
	var cfg Config
	var probe string
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	Flags(fs, &cfg, &probe)
	if err := fs.Parse([]string{"--health-addr", "127.0.0.1:9", "--retry-base", "2s"}); err != nil {
		t.Fatal(err)
	}
	if cfg.NATSURL != "nats://from-env:4222" || cfg.HealthAddr != "127.0.0.1:9" || cfg.RetryBase != 2*time.Second || probe != "" {
		t.Fatalf("%+v probe=%q", cfg, probe)
	}
}

// The lag lines are what the CDK's metric filter reads: msg LagMessage, a
// consumer (LagTotal for the sum) and the pending count.
func TestLogLagLines(t *testing.T) {
	var out strings.Builder
	LogLag(context.Background(), func(context.Context) ([]bus.Lag, error) {
		return []bus.Lag{{Consumer: "a", Pending: 3, AckPending: 1}, {Consumer: "b", Pending: 4}}, nil
	}, obs.NewLogger(&out, "dispatcher"))
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("lines %v", lines)
	}
	last := lines[2]
	if last["msg"] != LagMessage || last["consumer"] != LagTotal || last["pending"] != float64(7) || last["ack_pending"] != float64(1) {
		t.Fatalf("total line %v", last)
	}
	if lines[0]["consumer"] != "a" || lines[0]["pending"] != float64(3) {
		t.Fatalf("consumer line %v", lines[0])
	}
}
