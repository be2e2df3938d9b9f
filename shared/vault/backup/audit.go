package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/auditlog"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// CheckpointStore keeps the audit checkpoints: a target that can also be read.
type CheckpointStore interface {
	Target
	Get(ctx context.Context, name string) ([]byte, error)
}

// auditFunction builds vault-audit: on schedule it checkpoints the audit
// log's lanes outside the database; asked {"op":"verify"}, it verifies the log
// against the latest checkpoint.
func auditFunction(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
	store, err := checkpointStoreFromEnv(ctx, d.Env)
	if err != nil {
		return nil, err
	}
	keep, err := strconv.Atoi(d.Env("VAULT_AUDIT_KEEP"))
	if err != nil || keep < 1 {
		return nil, fmt.Errorf("VAULT_AUDIT_KEEP %q: want a count of at least 1", d.Env("VAULT_AUDIT_KEEP"))
	}
	a := &AuditAnchor{DB: d.Surreal, Crypto: &keeper.Client{Invoker: d.Invoker, Function: "vault-crypto"}, Store: store, Keep: keep}
	return a.Handler(), nil
}

// checkpointStoreFromEnv is the bucket's prefix (VAULT_BACKUP_BUCKET,
// VAULT_BACKUP_PREFIX) or else audit-checkpoints/ under VAULT_BACKUP_DIR.
func checkpointStoreFromEnv(ctx context.Context, env func(string) string) (CheckpointStore, error) {
	if bucket := env("VAULT_BACKUP_BUCKET"); bucket != "" {
		return NewS3(ctx, bucket, env("VAULT_BACKUP_PREFIX"), env("AWS_ENDPOINT_URL_S3"))
	}
	if dir := env("VAULT_BACKUP_DIR"); dir != "" {
		return Dir(filepath.Join(dir, "audit-checkpoints")), nil
	}
	return nil, fmt.Errorf("no audit checkpoint store: set VAULT_BACKUP_BUCKET (AWS) or VAULT_BACKUP_DIR")
}

// AuditAnchor writes and reads the audit checkpoints.
type AuditAnchor struct {
	DB     *surreal.Client
	Crypto *keeper.Client
	Store  CheckpointStore
	Keep   int
}

// checkpointPrefix and the UTC time make names that sort by age.
const checkpointPrefix = "audit-checkpoint-"

// Handler is vault-audit's entry point.
func (a *AuditAnchor) Handler() invoke.Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var req struct {
			Op string `json:"op"`
		}
		_ = json.Unmarshal(payload, &req)
		if req.Op == "verify" {
			rep, err := a.Verify(ctx)
			if err != nil {
				return nil, keeper.TypedError(err)
			}
			return json.Marshal(rep)
		}
		name, err := a.Checkpoint(ctx, time.Now())
		switch {
		case errors.As(err, new(keeper.SealedError)):
			return []byte(`{"checkpoint":false,"sealed":true}`), nil
		case err != nil:
			return nil, err
		}
		if name != "" {
			obs.Log(ctx).Info("audit checkpoint written", "name", name)
		}
		return json.Marshal(map[string]any{"checkpoint": name != "", "name": name})
	}
}

// Checkpoint signs every lane's head and stores it, unless nothing changed
// since the last one; it refuses (and says why) when the log no longer
// reaches the last checkpoint, so that a truncated log is never anchored.
func (a *AuditAnchor) Checkpoint(ctx context.Context, at time.Time) (string, error) {
	key, err := a.Crypto.AuditChainKey(ctx)
	if err != nil {
		return "", err
	}
	last, err := a.latest(ctx, key)
	if err != nil {
		return "", err
	}
	if problem, err := auditlog.Extends(ctx, a.DB, last); err != nil || problem != "" {
		return "", errors.Join(err, errorIf(problem, "audit checkpoint refused: %s"))
	}
	legacy, err := auditlog.LegacyHead(ctx, a.DB, last)
	if err != nil {
		return "", err
	}
	// A checkpoint is written even over an empty log, once, so that the
	// legacy chain's frozen head is held outside the database from the start.
	cp, err := auditlog.Take(ctx, a.DB, key, at, legacy)
	if err != nil || cp.SameHeads(last) {
		return "", err
	}
	raw, err := json.Marshal(cp)
	if err != nil {
		return "", err
	}
	name := checkpointPrefix + at.UTC().Format("20060102T150405.000000000Z") + ".json"
	if err := a.put(ctx, name, raw); err != nil {
		return "", err
	}
	return name, a.prune(ctx)
}

func errorIf(problem, format string) error {
	if problem == "" {
		return nil
	}
	return fmt.Errorf(format, problem)
}

// Verify walks the log and holds it against the latest checkpoint.
func (a *AuditAnchor) Verify(ctx context.Context) (auditlog.Report, error) {
	key, err := a.Crypto.AuditChainKey(ctx)
	if err != nil {
		return auditlog.Report{}, err
	}
	last, err := a.latest(ctx, key)
	if err != nil {
		return auditlog.Report{Problem: err.Error()}, nil
	}
	return auditlog.Verify(ctx, a.DB, key, last)
}

// names lists the checkpoints kept, oldest first.
func (a *AuditAnchor) names(ctx context.Context) ([]string, error) {
	all, err := a.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list audit checkpoints: %w", err)
	}
	var ours []string
	for _, n := range all {
		if strings.HasPrefix(n, checkpointPrefix) && strings.HasSuffix(n, ".json") {
			ours = append(ours, n)
		}
	}
	slices.Sort(ours)
	return ours, nil
}

// latest is the newest checkpoint, its MAC checked (nil if there is none).
func (a *AuditAnchor) latest(ctx context.Context, key []byte) (*auditlog.Checkpoint, error) {
	names, err := a.names(ctx)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	raw, err := a.Store.Get(ctx, names[len(names)-1])
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoint: %w", err)
	}
	return auditlog.Parse(raw, key)
}

// put stores a checkpoint through a temporary file, as targets take them.
func (a *AuditAnchor) put(ctx context.Context, name string, raw []byte) error {
	tmp, err := os.CreateTemp("", "audit-checkpoint-*")
	if err != nil {
		return err
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(raw); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return err
	}
	if err := a.Store.Put(ctx, name, tmp, int64(len(raw))); err != nil {
		return fmt.Errorf("store audit checkpoint %s: %w", name, err)
	}
	return nil
}

// prune removes the oldest checkpoints beyond Keep.
func (a *AuditAnchor) prune(ctx context.Context) error {
	names, err := a.names(ctx)
	if err != nil || len(names) <= a.Keep {
		return err
	}
	for _, n := range names[:len(names)-a.Keep] {
		if err := a.Store.Delete(ctx, n); err != nil {
			return fmt.Errorf("remove old audit checkpoint %s: %w", n, err)
		}
	}
	return nil
}
