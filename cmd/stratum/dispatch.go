package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func dispatchCommand() *cobra.Command {
	var natsURL, endpoint, prefix string
	var retryBase time.Duration
	cmd := &cobra.Command{
		Use:   "dispatch",
		Short: "Pull every consumer's messages from JetStream and invoke its Lambda (the NATS → Lambda bridge)",
		RunE: func(cmd *cobra.Command, args []string) error {
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
			log.Info("dispatching", "nats", natsURL)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&natsURL, "nats-url", os.Getenv("NATS_URL"), "NATS server URL")
	f.StringVar(&endpoint, "lambda-endpoint", os.Getenv("LAMBDA_ENDPOINT"), "Lambda API endpoint override (devstack, LocalStack)")
	f.StringVar(&prefix, "function-prefix", os.Getenv("STRATUM_FUNCTION_PREFIX"), "prefix of the deployed function names")
	f.DurationVar(&retryBase, "retry-base", time.Second, "first redelivery delay; doubles per attempt")
	return cmd
}
