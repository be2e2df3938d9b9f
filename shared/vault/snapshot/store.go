package snapshot

import (
	"context"
	"fmt"
	"strings"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Tables are the vault's tables a snapshot holds, in the order it holds them:
// every table of the secretumvault schema that keeps vault state. Left out:
// unseal_share (shares of an unseal in progress, which a restore drops) and
// snapshot_stage (a restore's own staging).
var Tables = []string{
	"seal", "entries", "tokens", "policies", "mounts",
	"audit_device", "audit_log", "audit", "leases", "static_rotations",
	"token_revoked", "integrity_state",
}

// pageSize is the number of records in one page of a snapshot.
const pageSize = 500

// Record is one stored record, exactly as SurrealDB returned it.
type Record = map[string]any

// store holds the SQL of snapshots.
type store struct{ db *surreal.Client }

// generation reads the seal generation; ok is false for an uninitialised vault.
func (s store) generation(ctx context.Context) (gen int, ok bool, err error) {
	g, err := surreal.Query[*int](ctx, s.db, "SELECT VALUE generation FROM ONLY seal:config", nil)
	if err != nil {
		return 0, false, fmt.Errorf("read seal generation: %w", err)
	}
	if g == nil {
		return 0, false, nil
	}
	return *g, true, nil
}

// keyring reads the sealed keyring (nil for an uninitialised vault).
func (s store) keyring(ctx context.Context) ([]byte, error) {
	ring, err := surreal.Query[[]byte](ctx, s.db, "SELECT VALUE keyring FROM ONLY seal:config", nil)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	return ring, nil
}

// page reads up to pageSize records of table after the record id after (nil:
// from the start), in id order. A string id is read as a record range, which
// SurrealDB scans from that key on (a WHERE id > $after reads the table from
// its start on every page: quadratic); other ids fall back to that.
func (s store) page(ctx context.Context, table string, after *models.RecordID) ([]Record, error) {
	sql := "SELECT * FROM type::table($tb) LIMIT $n"
	vars := map[string]any{"tb": table, "n": pageSize}
	if after != nil {
		if id, ok := after.ID.(string); ok {
			sql = "SELECT * FROM " + surreal.RecordLiteral(table, id) + ">.. LIMIT $n"
		} else {
			sql = "SELECT * FROM type::table($tb) WHERE id > $after ORDER BY id LIMIT $n"
			vars["after"] = *after
		}
	}
	rows, err := surreal.Query[[]Record](ctx, s.db, sql, vars)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return rows, nil
}

// stage keeps one page of a restore until the whole snapshot is verified.
func (s store) stage(ctx context.Context, restore, table string, seq int, rows []Record) error {
	_, err := surreal.Query[any](ctx, s.db,
		"CREATE snapshot_stage CONTENT { restore: $r, tb: $tb, seq: $seq, rows: $rows, at: time::now() }",
		map[string]any{"r": restore, "tb": table, "seq": seq, "rows": rows})
	if err != nil {
		return fmt.Errorf("stage %s page %d: %w", table, seq, err)
	}
	return nil
}

// dropStage removes a restore's batches, and any a failed restore left over an hour ago.
func (s store) dropStage(ctx context.Context, restore string) error {
	_, err := surreal.Query[any](ctx, s.db,
		"DELETE snapshot_stage WHERE restore = $r OR at < time::now() - 1h", map[string]any{"r": restore})
	if err != nil {
		return fmt.Errorf("drop restore staging: %w", err)
	}
	return nil
}

// apply replaces every vault table with the staged records in one
// transaction, and leaves the vault sealed: no wrapped root key, no unseal in
// progress, a seal generation above both the current one and the snapshot's,
// so that no instance keeps keys or state from before.
// (SurrealDB 3.0.2 fails a FOR over an empty list with "Cannot execute
// statement using value: NONE": only tables with records get one.)
func (s store) apply(ctx context.Context, restore string, snapGen int, counts map[string]int) error {
	var sql strings.Builder
	sql.WriteString("LET $cur = (SELECT VALUE generation FROM ONLY seal:config) ?? 0;\n")
	sql.WriteString("DELETE unseal_share;\n")
	for _, t := range Tables {
		fmt.Fprintf(&sql, "DELETE %s;\n", t)
	}
	for _, t := range Tables {
		if counts[t] == 0 {
			continue
		}
		fmt.Fprintf(&sql, "FOR $rows IN (SELECT VALUE rows FROM snapshot_stage WHERE restore = $r AND tb = '%s') { INSERT INTO %s $rows; };\n", t, t)
	}
	sql.WriteString("UPDATE seal:config SET wrapped_root = NONE, nonce = NONE, generation = math::max([$cur, $gen]) + 1;\n")
	sql.WriteString("DELETE snapshot_stage WHERE restore = $r;")
	if _, err := surreal.Query[any](ctx, s.db, surreal.Atomic(sql.String()), map[string]any{"r": restore, "gen": snapGen}); err != nil {
		return fmt.Errorf("apply snapshot: %w", err)
	}
	return nil
}
