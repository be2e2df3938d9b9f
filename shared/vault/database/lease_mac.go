package database

import (
	"context"
	"errors"

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
