package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// vaultArgs lets `stratum vault` take Vault's single-dash long flags
// (-key-shares=5, -path=secret, -type=ml-kem-768, -orphan) as the vault CLI
// and the README write them: "-name" or "-name=value" becomes "--name…"
// when name is longer than one letter and is a long flag of the command
// being run. Real shorthands (-o) and anything after "--" are left alone,
// and only the vault subtree is touched.
func vaultArgs(root *cobra.Command, args []string) []string {
	if len(args) == 0 || args[0] != "vault" {
		return args
	}
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(a[1:], "=")
		if len(name) < 2 {
			continue
		}
		if cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil {
			out[i] = "-" + a
		}
	}
	return out
}
