package main

import (
	"flag"
	"os"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/platform/dispatcher"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// dispatchCommand runs the dispatcher in this process (the Fargate image runs
// cmd/dispatcher, the same package without the rest of the CLI).
func dispatchCommand() *cobra.Command {
	var cfg dispatcher.Config
	var probe string
	cmd := &cobra.Command{
		Use:   "dispatch",
		Short: "Pull every consumer's messages from JetStream and invoke its Lambda (the NATS → Lambda bridge)",
		Long: "NATS authentication comes from NATS_CREDS (a .creds file's content), NATS_CREDS_FILE or NATS_TOKEN.\n" +
			"--health-addr serves GET /health: 200 while NATS answers and every consumer is bound, else 503;\n" +
			"--probe URL asks it and exits 1 unless it answers 200 (the container's health check).",
		RunE: func(cmd *cobra.Command, args []string) error {
			if probe != "" {
				return dispatcher.Probe(cmd.Context(), probe)
			}
			return dispatcher.Run(cmd.Context(), cfg, obs.NewLogger(os.Stderr, "dispatcher"))
		},
	}
	fs := flag.NewFlagSet("dispatch", flag.ContinueOnError)
	dispatcher.Flags(fs, &cfg, &probe)
	cmd.Flags().AddGoFlagSet(fs)
	return cmd
}
