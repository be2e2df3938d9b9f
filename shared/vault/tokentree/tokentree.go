// Package tokentree revokes tokens with every token they created: the token
// store's revocation (vault-secrets) and the scheduled sweep of expired tokens
// (vault-database) share it.
//
// A revoked token leaves a tombstone, token_revoked:⟨hash⟩, written in the
// same transaction as the deletion and kept until the token would have
// expired: the token store refuses a token record that has one, so a saved
// copy of a revoked token's record (whose MAC is the vault's) inserted again
// does not work. The tombstone needs no MAC: a planted one only denies a
// token, which whoever can write the database can do by deleting it. A
// tombstone deleted with the record put back is caught by the token store's
// revocation state (shared/vault/token_revoked.go), which RevokeWith lets it
// move in the same transaction.
package tokentree

import (
	"context"
	"fmt"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Revoke deletes the tokens with these hashes and, recursively, every token
// they created, and returns all the hashes deleted (the roots first).
func Revoke(ctx context.Context, db *surreal.Client, roots []string) ([]string, error) {
	return RevokeWith(ctx, db, roots, nil)
}

// Also gives statements (and their query variables) to run in the
// transaction that deletes the tokens with these hashes.
type Also func(ctx context.Context, hashes []string) (string, map[string]any, error)

// RevokeWith is Revoke with also's statements (nil: none) in its transaction.
func RevokeWith(ctx context.Context, db *surreal.Client, roots []string, also Also) ([]string, error) {
	// The descendants are found breadth-first; then all go in one statement.
	hashes := append([]string(nil), roots...)
	frontier := roots
	for len(frontier) > 0 {
		children, err := surreal.Query[[]string](ctx, db,
			"SELECT VALUE record::id(id) FROM tokens WHERE parent IN $p", map[string]any{"p": frontier})
		if err != nil {
			return nil, fmt.Errorf("revoke: find children: %w", err)
		}
		hashes = append(hashes, children...)
		frontier = children
	}
	if len(hashes) == 0 {
		return nil, nil
	}
	ids := make([]models.RecordID, len(hashes))
	for i, h := range hashes {
		ids[i] = models.NewRecordID("tokens", h)
	}
	sql, vars := Bury("ids"), map[string]any{}
	if also != nil {
		more, moreVars, err := also(ctx, hashes)
		if err != nil {
			return nil, err
		}
		sql, vars = sql+more, moreVars
	}
	vars["ids"] = ids
	if _, err := surreal.Query[any](ctx, db, surreal.Atomic(sql), vars); err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	return hashes, nil
}

// Bury is the statements that delete the tokens whose record ids are in the
// query variable named v and leave each a tombstone; run them in one
// transaction (surreal.Atomic).
func Bury(v string) string {
	return "LET $gone = (DELETE $" + v + " RETURN BEFORE);\n" +
		"FOR $t IN $gone { UPSERT type::record('token_revoked', record::id($t.id)) CONTENT { until: $t.expire_time, at: time::now() }; };\n"
}

// Buried is the SurrealQL expression, for a token record's id, of whether the
// token was revoked (has a tombstone).
const Buried = "record::exists(type::record('token_revoked', record::id(id)))"

// SweepExpired revokes every expired token with its descendants, and every
// token whose parent is gone (created while its parent was being revoked),
// as Vault's expiration manager does, so that neither waits to be presented.
// It returns the hashes revoked; their leases go with the lease sweep.
func SweepExpired(ctx context.Context, db *surreal.Client) ([]string, error) {
	roots, err := surreal.Query[[]string](ctx, db, `SELECT VALUE record::id(id) FROM tokens
		WHERE (expire_time != NONE AND expire_time <= time::now())
		OR (parent != NONE AND !record::exists(type::record('tokens', parent)))`, nil)
	if err != nil {
		return nil, fmt.Errorf("find expired tokens: %w", err)
	}
	revoked, err := Revoke(ctx, db, roots)
	if err != nil {
		return nil, err
	}
	// A tombstone goes an hour after its token would have expired: a copy of
	// the record put back then is refused as expired (its expiry is MAC'd).
	if _, err := surreal.Query[any](ctx, db, "DELETE token_revoked WHERE until != NONE AND until < time::now() - 1h", nil); err != nil {
		return nil, fmt.Errorf("sweep token tombstones: %w", err)
	}
	return revoked, nil
}
