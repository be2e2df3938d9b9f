package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func dispatchCommand() *cobra.Command {
	var natsURL, endpoint, prefix, healthAddr, probe string
	var retryBase time.Duration
	cmd := &cobra.Command{
		Use:   "dispatch",
		Short: "Pull every consumer's messages from JetStream and invoke its Lambda (the NATS → Lambda bridge)",
		Long: "NATS authentication comes from NATS_CREDS (a .creds file's content), NATS_CREDS_FILE or NATS_TOKEN.\n" +
			"--health-addr serves GET /health: 200 while NATS answers and every consumer is bound, else 503;\n" +
			"--probe URL asks it and exits 1 unless it answers 200 (the container's health check).",
		RunE: func(cmd *cobra.Command, args []string) error {
			if probe != "" {
				return probeHealth(cmd.Context(), probe)
			}
			log := obs.NewLogger(os.Stderr, "dispatcher")
			if natsURL == "" {
				return fmt.Errorf("--nats-url (or NATS_URL) is required")
			}
			b, err := bus.Connect(cmd.Context(), natsURL, "stratum-dispatcher", log)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.EnsureStreams(cmd.Context(), catalog.Streams); err != nil {
				return err
			}
			inv, err := lambdaclient.New(cmd.Context(), endpoint, prefix)
			if err != nil {
				return err
			}
			d := &bus.Dispatcher{Bus: b, Invoker: inv, RetryBase: retryBase}
			if err := d.Start(cmd.Context(), catalog.Functions); err != nil {
				return err
			}
			defer d.Stop()
			if healthAddr != "" {
				stop, err := serveHealth(healthAddr, d)
				if err != nil {
					return err
				}
				defer stop()
			}
			log.Info("dispatching", "nats", natsURL, "health", healthAddr)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&natsURL, "nats-url", os.Getenv("NATS_URL"), "NATS server URL")
	f.StringVar(&endpoint, "lambda-endpoint", os.Getenv("LAMBDA_ENDPOINT"), "Lambda API endpoint override (devstack, LocalStack)")
	f.StringVar(&prefix, "function-prefix", os.Getenv("STRATUM_FUNCTION_PREFIX"), "prefix of the deployed function names")
	f.DurationVar(&retryBase, "retry-base", time.Second, "first redelivery delay; doubles per attempt")
	f.StringVar(&healthAddr, "health-addr", "", "serve GET /health on this address (host:port)")
	f.StringVar(&probe, "probe", "", "only ask this /health URL and exit 0 if it answers 200, else 1")
	return cmd
}

// serveHealth answers GET /health from d.Healthy.
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

func probeHealth(ctx context.Context, url string) error {
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
