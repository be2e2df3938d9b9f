package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/localstack/tools"
)

func toolsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tools",
		Short: "Install the local AWS stand-ins the devstack runs (aws-lambda-rie, local-kms) into .tools/bin",
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, t := range []tools.Tool{tools.RIE, tools.LocalKMS} {
				path, err := tools.Ensure(cmd.Context(), t)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s\n", t.Name, t.Version, path)
			}
			return nil
		},
	}
}
