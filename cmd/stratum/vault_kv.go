package main

import (
	"fmt"
	"strconv"
	"strings"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"
)

// kvVersionCommands are `kv patch`, `undelete`, `destroy` and `rollback`,
// as the vault CLI has them, on KV version 2 mounts.
func kvVersionCommands(client clientFunc, out outFunc) []*cobra.Command {
	var method string
	var cas, toVersion int
	var versions []string
	patch := &cobra.Command{Use: "patch <mount/path> key=value...", Args: cobra.MinimumNArgs(2),
		Short: "Change some keys of the latest version, keeping the others (a new version)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mount, path, err := splitMountPath(args[0])
			if err != nil {
				return err
			}
			data, err := parseKV(args[1:])
			if err != nil {
				return err
			}
			opts := []bao.KVOption{bao.WithMergeMethod(method)}
			if cas >= 0 {
				opts = append(opts, bao.WithCheckAndSet(cas))
			}
			s, err := c.KVv2(mount).Patch(cmd.Context(), path, data, opts...)
			if err != nil {
				return err
			}
			printVersion(out(cmd), mount, path, s)
			return nil
		})}
	patch.Flags().StringVar(&method, "method", "patch", "patch (HTTP PATCH, needs the patch capability) or rw (read, then write with cas)")
	patch.Flags().IntVar(&cas, "cas", -1, "check-and-set: the version this patch expects to change")
	versionsOp := func(use, short, done string, op func(kv *bao.KVv2, cmd *cobra.Command, path string, vs []int) error) *cobra.Command {
		c := &cobra.Command{Use: use + " -versions=<n,...> <mount/path>", Args: cobra.ExactArgs(1), Short: short,
			RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
				mount, path, err := splitMountPath(args[0])
				if err != nil {
					return err
				}
				vs, err := parseVersions(versions)
				if err != nil {
					return err
				}
				if err := op(c.KVv2(mount), cmd, path, vs); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Success! Data written to: %s/%s/%s\n", mount, done, path)
				return nil
			})}
		c.Flags().StringSliceVar(&versions, "versions", nil, "versions, comma-separated (required)")
		return c
	}
	undelete := versionsOp("undelete", "Restore soft-deleted versions", "undelete", func(kv *bao.KVv2, cmd *cobra.Command, path string, vs []int) error {
		return kv.Undelete(cmd.Context(), path, vs)
	})
	destroy := versionsOp("destroy", "Remove versions' data for good", "destroy", func(kv *bao.KVv2, cmd *cobra.Command, path string, vs []int) error {
		return kv.Destroy(cmd.Context(), path, vs)
	})
	rollback := &cobra.Command{Use: "rollback -version=<n> <mount/path>", Args: cobra.ExactArgs(1),
		Short: "Write an earlier version's data as the new latest version",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mount, path, err := splitMountPath(args[0])
			if err != nil {
				return err
			}
			if toVersion <= 0 {
				return fmt.Errorf("-version is required: the version to roll back to")
			}
			s, err := c.KVv2(mount).Rollback(cmd.Context(), path, toVersion)
			if err != nil {
				return err
			}
			printVersion(out(cmd), mount, path, s)
			return nil
		})}
	rollback.Flags().IntVar(&toVersion, "version", 0, "the version to roll back to (required)")
	return []*cobra.Command{patch, undelete, destroy, rollback}
}

// printVersion shows a written version as `kv put` does.
func printVersion(p *printer, mount, path string, s *bao.KVSecret) {
	p.table(fmt.Sprintf("== Secret Path ==\n%s/data/%s\n", mount, path),
		map[string]any{"version": s.VersionMetadata.Version, "created_time": s.VersionMetadata.CreatedTime}, s.Raw)
}

// parseVersions reads -versions=1,2 (also given more than once).
func parseVersions(in []string) ([]int, error) {
	var out []int
	for _, s := range in {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-versions: %q is not a version number", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-versions is required: the versions to act on, e.g. -versions=1,2")
	}
	return out, nil
}
