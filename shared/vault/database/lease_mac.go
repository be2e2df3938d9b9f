package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// leaseMACFields are what a lease's MAC covers: everything that says what
// revoking or renewing it runs, where and when. Only last_error is left out.
type leaseMACFields struct {
	LeaseID, Engine, MountUUID, MountPath, Role, DBName, Username string
	RevocationStatements, RenewStatements                         []string
	TokenHash                                                     string
	Issue, LastRenewal, Expire, MaxExpire                         int64 // Unix seconds
	DefaultTTLSeconds                                             int64
}

func leaseFieldsOf(l *lease) leaseMACFields {
	f := leaseMACFields{LeaseID: l.LeaseID, Engine: l.Engine, MountUUID: l.MountUUID, MountPath: l.MountPath,
		Role: l.Role, DBName: l.DBName, Username: l.Username, RevocationStatements: l.RevocationStatements,
		RenewStatements: l.RenewStatements, TokenHash: l.TokenHash, Issue: l.IssueTime.Unix(),
		Expire: l.ExpireTime.Unix(), MaxExpire: l.MaxExpireTime.Unix(), DefaultTTLSeconds: l.DefaultTTLSeconds}
	if f.RevocationStatements == nil {
		f.RevocationStatements = []string{}
	}
	if f.RenewStatements == nil {
		f.RenewStatements = []string{}
	}
	if l.LastRenewal != nil {
		f.LastRenewal = l.LastRenewal.Unix()
	}
	return f
}

// sealLease sets l's MAC under the record key from vault-crypto.
func (e *Engine) sealLease(ctx context.Context, l *lease) error {
	key, err := e.keys.Get(ctx)
	if err != nil {
		return err
	}
	l.MAC, err = integrity.Sum(key, "lease", l.LeaseID, leaseFieldsOf(l))
	return err
}

// checkLease refuses a lease record edited or planted outside the vault: its
// statements are never run. The error is an *integrity.TamperedError.
func (e *Engine) checkLease(ctx context.Context, l *lease) error {
	key, err := e.keys.Get(ctx)
	if err != nil {
		return err
	}
	return integrity.Check(key, "lease", l.LeaseID, leaseFieldsOf(l), l.MAC)
}

// isTampered tells a refused record from other errors.
func isTampered(err error) bool {
	var t *integrity.TamperedError
	return errors.As(err, &t)
}

// remacLeases MACs the leases written before lease MACs existed, if the
// keyring says the one-time re-MAC is due (vault-sys asks at unseal; see
// the vault package's remac.go); a lease with a MAC is left as it is.
func (e *Engine) remacLeases(ctx context.Context) (int, error) {
	due, err := e.keys.Crypto.RecordsDue(ctx)
	if err != nil || !due {
		return 0, err
	}
	list, err := surreal.Query[[]lease](ctx, e.db, "SELECT * OMIT id FROM leases WHERE mac = NONE OR mac = ''", nil)
	if err != nil {
		return 0, fmt.Errorf("re-MAC leases: %w", err)
	}
	for i := range list {
		if err := e.sealLease(ctx, &list[i]); err != nil {
			return i, err
		}
		if _, err := surreal.Query[any](ctx, e.db, "UPDATE $id SET mac = $mac WHERE mac = NONE OR mac = ''",
			map[string]any{"id": leaseRecord(list[i].LeaseID), "mac": list[i].MAC}); err != nil {
			return i, fmt.Errorf("re-MAC lease %s: %w", list[i].LeaseID, err)
		}
	}
	return len(list), nil
}
