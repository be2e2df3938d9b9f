// Command stratum is the one binary a person installs: the CLI of the five
// systems, `stratum dev` (the local devstack) and `stratum dispatch` (the
// NATS → Lambda dispatcher that runs as a Fargate service in AWS).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/awscfg/chain"
)

func main() {
	// A person's CLI reads their AWS profiles and SSO; functions use the
	// environment only (awscfg).
	awscfg.UseChain(chain.Load)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := rootCommand()
	root.SetArgs(vaultArgs(root, os.Args[1:]))
	if err := root.ExecuteContext(ctx); err != nil {
		var exit exitCodeError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		fmt.Fprintln(os.Stderr, "stratum:", err)
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "stratum",
		Short:         "StratumIOps: secrets, agents, knowledge, forms and infrastructure workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(devCommand(), dispatchCommand(), buildCommand(), toolsCommand(), vaultCommand(), kogralCommand(), vaporaCommand(), formCommand(), provCommand(), openapiCommand(), deadletterCommand())
	return root
}
