package main

import (
	"fmt"
	"strconv"
	"strings"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"
)

// kvCommand is `stratum vault kv`: the vault CLI's kv verbs, on KV version
// 2 mounts, one builder per verb.
func kvCommand(client clientFunc, out outFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "kv", Short: "put, get, patch, delete, undelete, destroy, rollback, list, metadata (KV version 2 mounts)"}
	cmd.AddCommand(kvPutCommand(client, out), kvGetCommand(client, out), kvDeleteCommand(client),
		kvListCommand(client, out), kvMetadataCommand(client, out))
	cmd.AddCommand(kvVersionCommands(client, out)...)
	return cmd
}

func kvPutCommand(client clientFunc, out outFunc) *cobra.Command {
	var cas int
	put := &cobra.Command{Use: "put <mount/path> key=value...", Args: cobra.MinimumNArgs(2), Short: "Write a new version",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mount, path, err := splitMountPath(args[0])
			if err != nil {
				return err
			}
			data, err := parseKV(args[1:])
			if err != nil {
				return err
			}
			var opts []bao.KVOption
			if cas >= 0 {
				opts = append(opts, bao.WithCheckAndSet(cas))
			}
			s, err := c.KVv2(mount).Put(cmd.Context(), path, data, opts...)
			if err != nil {
				return err
			}
			printVersion(out(cmd), mount, path, s)
			return nil
		})}
	put.Flags().IntVar(&cas, "cas", -1, "check-and-set: the version this write expects to replace")
	return put
}

func kvGetCommand(client clientFunc, out outFunc) *cobra.Command {
	var version int
	get := &cobra.Command{Use: "get <mount/path>", Args: cobra.ExactArgs(1), Short: "Read a version (the latest by default)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mount, path, err := splitMountPath(args[0])
			if err != nil {
				return err
			}
			var s *bao.KVSecret
			if version > 0 {
				s, err = c.KVv2(mount).GetVersion(cmd.Context(), path, version)
			} else {
				s, err = c.KVv2(mount).Get(cmd.Context(), path)
			}
			if err != nil {
				return err
			}
			p := out(cmd)
			if p.json {
				p.table("", nil, s.Raw)
				return nil
			}
			p.table("======= Metadata =======", map[string]any{"version": s.VersionMetadata.Version,
				"created_time": s.VersionMetadata.CreatedTime, "deletion_time": s.VersionMetadata.DeletionTime,
				"destroyed": s.VersionMetadata.Destroyed}, nil)
			fmt.Fprintln(p.w)
			p.table("====== Data ======", s.Data, nil)
			return nil
		})}
	get.Flags().IntVar(&version, "version", 0, "version to read")
	return get
}

func kvDeleteCommand(client clientFunc) *cobra.Command {
	return &cobra.Command{Use: "delete <mount/path>", Args: cobra.ExactArgs(1), Short: "Soft-delete the latest version",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mount, path, err := splitMountPath(args[0])
			if err != nil {
				return err
			}
			if err := c.KVv2(mount).Delete(cmd.Context(), path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Data deleted (if it existed) at: %s/data/%s\n", mount, path)
			return nil
		})}
}

func kvListCommand(client clientFunc, out outFunc) *cobra.Command {
	return &cobra.Command{Use: "list <mount/path>", Args: cobra.ExactArgs(1), Short: "List keys under a path",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mount, path, _ := strings.Cut(strings.Trim(args[0], "/"), "/")
			s, err := c.Logical().ListWithContext(cmd.Context(), mount+"/metadata/"+path)
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("no value found at %s/metadata/%s", mount, path)
			}
			p := out(cmd)
			if p.json {
				p.table("", nil, s.Data["keys"])
				return nil
			}
			fmt.Fprintln(p.w, "Keys\n----")
			for _, k := range s.Data["keys"].([]any) {
				fmt.Fprintln(p.w, k)
			}
			return nil
		})}
}

func kvMetadataCommand(client clientFunc, out outFunc) *cobra.Command {
	return &cobra.Command{Use: "metadata get <mount/path>", Args: cobra.ExactArgs(2), Short: "Show a secret's metadata and versions",
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "get" {
				return fmt.Errorf("unknown metadata verb %q (want get)", args[0])
			}
			c, err := client()
			if err != nil {
				return err
			}
			mount, path, err := splitMountPath(args[1])
			if err != nil {
				return err
			}
			s, err := c.Logical().ReadWithContext(cmd.Context(), mount+"/metadata/"+path)
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("no value found at %s/metadata/%s", mount, path)
			}
			out(cmd).table("", s.Data, s.Data)
			return nil
		}}
}

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
