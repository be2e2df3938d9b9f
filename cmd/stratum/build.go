package main

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/localstack/build"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

func buildCommand() *cobra.Command {
	var out, arch string
	var parallel int
	cmd := &cobra.Command{
		Use:   "build [function...]",
		Short: "Cross-compile functions to <out>/<function>/bootstrap (and the dispatcher image) and print their sizes",
		RunE: func(cmd *cobra.Command, args []string) error {
			target := build.Lambda
			switch arch {
			case "arm64":
			case "native":
				target = build.Native()
			default:
				return fmt.Errorf("--arch %q: want arm64 (Lambda) or native (the local runtime emulator)", arch)
			}
			names := args
			if len(names) == 0 {
				for _, f := range catalog.Functions {
					names = append(names, f.Name)
				}
				names = append(names, catalog.InfraFunctions...)
			}
			for _, n := range names {
				if _, ok := catalog.Lookup(n); !ok && !slices.Contains(catalog.InfraFunctions, n) {
					return fmt.Errorf("function %q is not in the catalog", n)
				}
			}
			results, err := build.Functions(cmd.Context(), ".", out, target, names, parallel)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				d, err := build.Dispatcher(cmd.Context(), ".", out, target)
				if err != nil {
					return err
				}
				results = append(results, d)
			}
			build.PrintTable(cmd.OutOrStdout(), results)
			if over := build.OverLimit(results); len(over) > 0 {
				return fmt.Errorf("%d binaries over their size limit (localstack/build/limits.go)", len(over))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "dist", "output directory")
	cmd.Flags().StringVar(&arch, "arch", "arm64", "arm64 (Lambda) or native")
	cmd.Flags().IntVar(&parallel, "parallel", runtime.NumCPU(), "builds at a time")
	return cmd
}
