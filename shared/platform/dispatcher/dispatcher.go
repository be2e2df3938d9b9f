// Package dispatcher is the NATS → Lambda bridge as a process: it pulls every
// consumer's messages from JetStream and invokes its Lambda, and answers
// /health. cmd/dispatcher (the Fargate image) and `stratum dispatch` run it.
package dispatcher

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
)

// Config is what the dispatcher connects to.
type Config struct {
	NATSURL        string        // NATS server URL (required)
	LambdaEndpoint string        // Lambda API endpoint override (devstack, LocalStack)
	FunctionPrefix string        // prefix of the deployed function names
	RetryBase      time.Duration // first redelivery delay; doubles per attempt
	HealthAddr     string        // serve GET /health here when not ""
	LagEvery       time.Duration // log the consumers' lag this often (LagMessage); 0: never
}

// LagMessage is the log line (msg) that reports the consumers' lag: one per
// consumer with "consumer", "pending" and "ack_pending", and one with
// "consumer" LagTotal for their sum. infra/stacks turns it into the consumer
// lag metric (dimension Consumer), its alarm and the dispatcher's scaling.
const (
	LagMessage = "consumer lag"
	LagTotal   = "_total"
)

// reportLag logs lag() every period until ctx ends.
func reportLag(ctx context.Context, every time.Duration, lag func(context.Context) ([]bus.Lag, error), log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			LogLag(ctx, lag, log)
		}
	}
}

// LogLag logs each consumer's lag and their sum (LagMessage).
func LogLag(ctx context.Context, lag func(context.Context) ([]bus.Lag, error), log *slog.Logger) {
	lags, err := lag(ctx)
	if err != nil {
		log.Warn("consumer lag unknown", "err", err)
		return
	}
	var pending uint64
	var ackPending int
	for _, l := range lags {
		log.Info(LagMessage, "consumer", l.Consumer, "pending", l.Pending, "ack_pending", l.AckPending)
		pending, ackPending = pending+l.Pending, ackPending+l.AckPending
	}
	log.Info(LagMessage, "consumer", LagTotal, "pending", pending, "ack_pending", ackPending)
}

// Run dispatches until ctx ends. NATS authentication comes from NATS_CREDS,
// NATS_CREDS_FILE or NATS_TOKEN, and NATS_CA, when set, is the only root it
// trusts for TLS (see bus.Connect).
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.NATSURL == "" {
		return errors.New("--nats-url (or NATS_URL) is required")
	}
	b, err := bus.Connect(ctx, cfg.NATSURL, "stratum-dispatcher", log)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, catalog.Streams); err != nil {
		return err
	}
	inv, err := lambdaclient.New(ctx, cfg.LambdaEndpoint, cfg.FunctionPrefix)
	if err != nil {
		return err
	}
	d := &bus.Dispatcher{Bus: b, Invoker: inv, RetryBase: cfg.RetryBase}
	if err := d.Start(ctx, catalog.Functions); err != nil {
		return err
	}
	defer d.Stop()
	if cfg.HealthAddr != "" {
		stop, err := serveHealth(cfg.HealthAddr, d)
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.LagEvery > 0 {
		go reportLag(ctx, cfg.LagEvery, d.Lag, log)
	}
	log.Info("dispatching", "nats", cfg.NATSURL, "health", cfg.HealthAddr)
	<-ctx.Done()
	return nil
}

// serveHealth answers GET /health from d.Healthy: 200 while NATS answers and
// every consumer is bound, else 503.
func serveHealth(addr string, d *bus.Dispatcher) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health address %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := d.Healthy(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// Probe asks a /health URL and fails unless it answers 200 (the container's
// health check).
func Probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("health: " + resp.Status)
	}
	return nil
}

// Flags declares the dispatcher's flags on fs, defaulting from NATS_URL,
// LAMBDA_ENDPOINT and STRATUM_FUNCTION_PREFIX; probe gets --probe.
func Flags(fs *flag.FlagSet, cfg *Config, probe *string) {
	fs.StringVar(&cfg.NATSURL, "nats-url", os.Getenv("NATS_URL"), "NATS server URL")
	fs.StringVar(&cfg.LambdaEndpoint, "lambda-endpoint", os.Getenv("LAMBDA_ENDPOINT"), "Lambda API endpoint override (devstack, LocalStack)")
	fs.StringVar(&cfg.FunctionPrefix, "function-prefix", os.Getenv("STRATUM_FUNCTION_PREFIX"), "prefix of the deployed function names")
	fs.DurationVar(&cfg.RetryBase, "retry-base", time.Second, "first redelivery delay; doubles per attempt")
	fs.StringVar(&cfg.HealthAddr, "health-addr", "", "serve GET /health on this address (host:port)")
	fs.DurationVar(&cfg.LagEvery, "lag-every", time.Minute, "log each consumer's lag this often (0: never)")
	fs.StringVar(probe, "probe", "", "only ask this /health URL and exit 0 if it answers 200, else 1")
}
