package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"
)

// snapshotCommand is `stratum vault operator snapshot save|restore`: the
// paths and calls of `bao operator raft snapshot save|restore`.
func snapshotCommand(client clientFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "snapshot", Short: "Save or restore a snapshot of the vault's storage",
		Long: `A snapshot holds every storage record of the vault as stored — barrier ciphertext, keyed
token hashes, KMS-wrapped material, nothing in clear — with a header (format version, seal
generation), the record counts and a checksum over everything. It is a gzip'd tar, taken and
restored through OpenBao's paths (GET /v1/sys/storage/raft/snapshot, POST
/v1/sys/storage/raft/snapshot-force), so "bao operator raft snapshot save|restore -force" does
the same. Both need the root token or sudo on the path.

Restoring replaces the whole storage of the target vault in one transaction and leaves it
sealed with the snapshot's keyring: unseal it with the shares of the vault that was backed
up; its root token and every other token of the snapshot work again, the target's own do not.
A truncated or altered snapshot is refused and nothing changes.`}
	save := &cobra.Command{Use: "save <file>", Short: "Stream a snapshot of the vault into file", Args: cobra.ExactArgs(1),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			return saveSnapshot(cmd, c, args[0])
		})}
	var force bool
	restore := &cobra.Command{Use: "restore <file>", Short: "Replace the vault's storage with a snapshot; the vault is then sealed",
		Long: `Restore sends the snapshot to POST /v1/sys/storage/raft/snapshot, which takes only a snapshot of
this same vault (the same keyring), or with --force to .../snapshot-force, which takes one of
any vault (restoring into a fresh stack, say). Then unseal with the shares of the vault the
snapshot came from.`,
		Args: cobra.ExactArgs(1),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("open snapshot: %w", err)
			}
			defer f.Close()
			if err := c.Sys().RaftSnapshotRestoreWithContext(cmd.Context(), f, force); err != nil {
				return fmt.Errorf("restore %s: %w", args[0], err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Success! The snapshot is restored and the vault is sealed: unseal it with the shares of the vault it came from.")
			return nil
		})}
	restore.Flags().BoolVar(&force, "force", false, "restore a snapshot of another vault (its keyring differs from this one's)")
	cmd.AddCommand(save, restore)
	return cmd
}

// saveSnapshot writes to a temporary file next to path and renames it once
// the whole snapshot has arrived, so a failed save leaves no partial file.
func saveSnapshot(cmd *cobra.Command, c *bao.Client, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return fmt.Errorf("snapshot file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	err = c.Sys().RaftSnapshotWithContext(cmd.Context(), tmp)
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Success! Snapshot saved to %s\n", path)
	return nil
}
