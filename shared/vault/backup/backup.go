// Package backup is vault-backup: on schedule it writes a snapshot of the
// vault's storage (the one GET /v1/sys/storage/raft/snapshot streams) to the
// backup bucket in AWS, or to a directory in the devstack, and keeps the
// last N. Restore one with `bao operator raft snapshot restore -force <file>`.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/snapshot"
)

// Target keeps backups: an S3 prefix or a directory.
type Target interface {
	// Put stores the snapshot in file (rewound) under name.
	Put(ctx context.Context, name string, file *os.File, size int64) error
	// List returns the names of the backups kept.
	List(ctx context.Context) ([]string, error)
	// Delete removes one backup.
	Delete(ctx context.Context, name string) error
}

// Functions holds vault-backup and vault-audit (the audit checkpoints, kept
// next to the backups), by catalog name.
func Functions() function.Set {
	return function.Set{"vault-backup": BackupFunction, "vault-audit": AuditFunction}
}

// BackupFunction is vault-backup.
func BackupFunction() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		target, err := TargetFromEnv(ctx, d.Env)
		if err != nil {
			return nil, err
		}
		keep, err := strconv.Atoi(d.Env("VAULT_BACKUP_KEEP"))
		if err != nil || keep < 1 {
			return nil, fmt.Errorf("VAULT_BACKUP_KEEP %q: want a count of at least 1", d.Env("VAULT_BACKUP_KEEP"))
		}
		b := &Backup{DB: d.Surreal, Target: target, Keep: keep, TempDir: os.TempDir(),
			Crypto: &keeper.Client{Invoker: d.Invoker, Function: "vault-crypto"}}
		return b.Handler(), nil
	})
}

// AuditFunction is vault-audit.
func AuditFunction() function.Builder {
	return function.Invoke(auditFunction)
}

// TargetFromEnv picks the bucket (VAULT_BACKUP_BUCKET, VAULT_BACKUP_PREFIX)
// or else the directory (VAULT_BACKUP_DIR).
func TargetFromEnv(ctx context.Context, env func(string) string) (Target, error) {
	if bucket := env("VAULT_BACKUP_BUCKET"); bucket != "" {
		return NewS3(ctx, bucket, env("VAULT_BACKUP_PREFIX"), env("AWS_ENDPOINT_URL_S3"))
	}
	if dir := env("VAULT_BACKUP_DIR"); dir != "" {
		return Dir(dir), nil
	}
	return nil, fmt.Errorf("no backup target: set VAULT_BACKUP_BUCKET (AWS) or VAULT_BACKUP_DIR")
}

// Backup takes snapshots into Target and keeps the last Keep.
type Backup struct {
	DB      *surreal.Client
	Target  Target
	Keep    int
	TempDir string
	// Crypto gives the key that MACs a snapshot taken unsealed (nil: none).
	Crypto *keeper.Client
}

// Result is what one run did (the function's reply).
type Result struct {
	Name    string         `json:"name"`
	Bytes   int64          `json:"bytes"`
	Records map[string]int `json:"records"`
	Removed []string       `json:"removed,omitempty"`
}

// Handler runs one backup per invocation, whatever the event (EventBridge's
// scheduled event, or {} by hand).
func (b *Backup) Handler() invoke.Handler {
	return func(ctx context.Context, _ []byte) ([]byte, error) {
		res, err := b.Run(ctx)
		if err != nil {
			return nil, err
		}
		obs.Log(ctx).Info("vault backup written", "name", res.Name, "bytes", res.Bytes, "removed", res.Removed)
		return json.Marshal(res)
	}
}

// namePrefix and the UTC time make names that sort in the order they were taken.
const namePrefix = "secretumvault-"

// Run takes one snapshot into a temporary file (bounded memory, and S3 wants
// a length), stores it, then removes all but the newest Keep.
func (b *Backup) Run(ctx context.Context) (Result, error) {
	tmp, err := os.CreateTemp(b.TempDir, "vault-backup-*.snap")
	if err != nil {
		return Result{}, fmt.Errorf("backup temp file: %w", err)
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	key, err := b.key(ctx)
	if err != nil {
		return Result{}, err
	}
	sum, err := snapshot.Save(ctx, b.DB, tmp, "vault-backup", key)
	if err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return Result{}, fmt.Errorf("backup size: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Result{}, fmt.Errorf("backup rewind: %w", err)
	}
	name := namePrefix + sum.Meta.CreatedAt.Format("20060102T150405.000Z") + ".snap"
	if err := b.Target.Put(ctx, name, tmp, size); err != nil {
		return Result{}, fmt.Errorf("store backup %s: %w", name, err)
	}
	removed, err := b.prune(ctx)
	if err != nil {
		return Result{}, err
	}
	return Result{Name: name, Bytes: size, Records: sum.Counts, Removed: removed}, nil
}

// key is the record key that MACs the snapshot, or nil while the vault is
// sealed: a sealed vault is backed up too, without a MAC (such a backup
// restores only with -force).
func (b *Backup) key(ctx context.Context) ([]byte, error) {
	if b.Crypto == nil {
		return nil, nil
	}
	key, _, err := b.Crypto.RecordKey(ctx)
	if errors.As(err, new(keeper.SealedError)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: the snapshot's MAC key: %w", err)
	}
	return key, nil
}

// prune removes the oldest backups beyond Keep.
func (b *Backup) prune(ctx context.Context) ([]string, error) {
	names, err := b.Target.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var ours []string
	for _, n := range names {
		if strings.HasPrefix(n, namePrefix) && strings.HasSuffix(n, ".snap") {
			ours = append(ours, n)
		}
	}
	slices.Sort(ours)
	if len(ours) <= b.Keep {
		return nil, nil
	}
	old := ours[:len(ours)-b.Keep]
	for _, n := range old {
		if err := b.Target.Delete(ctx, n); err != nil {
			return nil, fmt.Errorf("remove old backup %s: %w", n, err)
		}
	}
	return old, nil
}
