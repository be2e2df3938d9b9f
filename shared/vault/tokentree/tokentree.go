// Package tokentree revokes tokens with every token they created: the token
// store's revocation (vault-secrets) and the scheduled sweep of expired tokens
// (vault-database) share it.
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
	if _, err := surreal.Query[any](ctx, db, "DELETE $ids[*]", map[string]any{"ids": ids}); err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	return hashes, nil
}

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
	return Revoke(ctx, db, roots)
}
