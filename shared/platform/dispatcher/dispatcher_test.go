package dispatcher

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
