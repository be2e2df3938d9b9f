package main

import (
	"slices"
	"testing"
)

// The snapshot commands take the vault CLI's single-dash flags too.
func TestSnapshotTakesVaultStyleFlags(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"vault", "operator", "snapshot", "restore", "-force", "f.snap"}, []string{"vault", "operator", "snapshot", "restore", "--force", "f.snap"}},
		{[]string{"vault", "operator", "init", "-key-shares=5", "-key-threshold", "3"}, []string{"vault", "operator", "init", "--key-shares=5", "--key-threshold", "3"}},
		{[]string{"vault", "kv", "put", "-h", "x", "-1", "--format", "json", "--", "-force"}, []string{"vault", "kv", "put", "-h", "x", "-1", "--format", "json", "--", "-force"}},
		{[]string{"dev", "-force"}, []string{"dev", "-force"}},
	}
	for _, c := range cases {
		if got := vaultArgs(rootCommand(), c.in); !slices.Equal(got, c.want) {
			t.Errorf("%v: got %v, want %v", c.in, got, c.want)
		}
	}
}
