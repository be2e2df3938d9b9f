package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// The one-time re-MAC. A vault created before the record MACs (or before
// their current format: keeper.RecordsFormat) has records that carry no MAC
// or an older one, which the vault refuses. At the first sys/unseal after the
// upgrade (on a vault left unsealed by the upgrade, any sys/unseal call, since
// its root token is refused too and it cannot be sealed), vault-sys MACs them
// in the current format: records with no MAC,
// tokens whose MAC verifies without parent and orphan, policies whose MAC
// verifies without a generation; a record whose MAC is there but fails is
// left as it is (still refused). Then the keyring records that it is done.
//
// The keyring is sealed by the root key, so the mark cannot be edited or
// deleted through the database, and the re-MAC cannot be started again by
// whoever writes it: after it, a record without a valid MAC is refused for
// good. What that writer can do: before the re-MAC, plant or edit MAC-less
// records, which it then blesses (the vault cannot tell them from its own,
// as before MACs existed); and, with a copy of seal:config saved before the
// upgrade, put that older keyring back so that the next unseal re-MACs again.

// remacRecords runs the re-MAC if the keyring says it is due.
func (s *Server) remacRecords(ctx context.Context) error {
	if time.Since(time.Unix(0, s.recordsDoneAt.Load())) < time.Minute {
		return nil
	}
	due, err := s.crypto.RecordsDue(ctx)
	if err != nil {
		return err
	}
	if !due {
		s.recordsDoneAt.Store(time.Now().UnixNano())
		return nil
	}
	key, err := s.tokens.keys.Get(ctx)
	if err != nil {
		return err
	}
	tokens, err := s.tokens.remac(ctx, key)
	if err != nil {
		return err
	}
	pols, err := s.policies.remac(ctx, key)
	if err != nil {
		return err
	}
	mounts, err := s.mounts.remac(ctx, key)
	if err != nil {
		return err
	}
	leases, err := s.remacLeases(ctx)
	if err != nil {
		return err
	}
	if err := s.crypto.RecordsDone(ctx); err != nil {
		return err
	}
	s.recordsDoneAt.Store(time.Now().UnixNano())
	slog.WarnContext(ctx, "records written before the current integrity format were MAC'd, once",
		"tokens", tokens, "policies", pols, "mounts", mounts, "leases", leases)
	return nil
}

// remacLeases has vault-database, which owns the leases, MAC those without
// a MAC, if there are any.
func (s *Server) remacLeases(ctx context.Context) (int, error) {
	bare, err := surreal.Query[int](ctx, s.st.DB, "RETURN count((SELECT VALUE id FROM leases WHERE mac = NONE OR mac = ''))", nil)
	if err != nil || bare == 0 {
		return 0, err
	}
	return s.leases.Remac(ctx)
}

// remac MACs the tokens with no MAC, or with one that holds without parent
// and orphan; each only if its MAC is still the one read.
func (ts *tokens) remac(ctx context.Context, key []byte) (int, error) {
	rows, err := surreal.Query[[]tokenRow](ctx, ts.db, "SELECT "+tokenFields+" FROM tokens", nil)
	if err != nil {
		return 0, fmt.Errorf("re-MAC tokens: %w", err)
	}
	n := 0
	for i := range rows {
		t := rows[i].token()
		old := rows[i].MAC
		if integrity.Check(key, "token", t.Hash, macFieldsOf(t), old) == nil {
			continue
		}
		if old != "" && integrity.Check(key, "token", t.Hash, macFieldsV1Of(t), old) != nil {
			slog.ErrorContext(ctx, "token record left refused: its MAC fails", "accessor", t.Accessor)
			continue
		}
		// A token from before revocation states gets its state's version
		// now, under the MAC, so that deleting or rolling back its state
		// refuses it as it refuses the tokens created since.
		if t.RevGen == 0 {
			if t.RevGen, err = ts.revocationVersion(ctx, t.Hash, key); err != nil {
				return n, err
			}
		}
		mac, err := integrity.Sum(key, "token", t.Hash, macFieldsOf(t))
		if err != nil {
			return n, err
		}
		if err := remacOne(ctx, ts.db, tokenID(t.Hash), old, mac, map[string]any{"rev_gen": t.RevGen}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// remac MACs the mounts that have no MAC.
func (ms *mounts) remac(ctx context.Context, key []byte) (int, error) {
	list, err := surreal.Query[[]Mount](ctx, ms.db, "SELECT * OMIT id FROM mounts WHERE mac = NONE OR mac = ''", nil)
	if err != nil {
		return 0, fmt.Errorf("re-MAC mounts: %w", err)
	}
	for i := range list {
		mac, err := integrity.Sum(key, "mount", list[i].Path, mountFieldsOf(&list[i]))
		if err != nil {
			return i, err
		}
		if err := remacOne(ctx, ms.db, recordID("mounts", list[i].Path), "", mac); err != nil {
			return i, err
		}
	}
	return len(list), nil
}

// remacOne sets a record's MAC if it is still old ("": none).
func remacOne(ctx context.Context, db *surreal.Client, id models.RecordID, old, mac string, set ...map[string]any) error {
	cond := "mac = $old"
	if old == "" {
		cond = "(mac = NONE OR mac = '')"
	}
	sql, vars := "UPDATE $id SET mac = $mac", map[string]any{"id": id, "old": old, "mac": mac}
	for _, fields := range set { // fields the new MAC covers, written with it
		for k, v := range fields {
			sql += fmt.Sprintf(", %s = $f_%s", k, k)
			vars["f_"+k] = v
		}
	}
	if _, err := surreal.Query[any](ctx, db, sql+" WHERE "+cond, vars); err != nil {
		return fmt.Errorf("re-MAC %v: %w", id, err)
	}
	return nil
}

// remac gives every policy with no MAC, or one that holds without a
// generation, the next generation, and writes them with the state in one
// transaction (which fails if the state moved meanwhile: unseal again).
func (p *policies) remac(ctx context.Context, key []byte) (int, error) {
	got, err := surreal.Query[struct {
		Rows  []policyRow  `json:"rows"`
		State *policyState `json:"state"`
	}](ctx, p.db, "RETURN { rows: (SELECT name, text, hcl, mac, gen FROM policies), state: (SELECT gens, version, mac FROM ONLY $st) }",
		map[string]any{"st": policyStateID})
	if err != nil {
		return 0, fmt.Errorf("re-MAC policies: %w", err)
	}
	st, err := p.checkState(ctx, key, got.State)
	if err != nil {
		return 0, err
	}
	next := &policyState{Gens: maps.Clone(st.Gens), Version: st.Version + 1}
	var sql strings.Builder
	vars := map[string]any{"st": policyStateID, "v": st.Version}
	n := 0
	for i, row := range got.Rows {
		if policyProblem(key, st, row.Name, &got.Rows[i]) == nil {
			continue
		}
		if row.MAC != "" && (row.Gen != 0 || integrity.Check(key, "policy", row.Name, policyMACFields{row.Name, row.Text, row.HCL, 0}, row.MAC) != nil) {
			continue // edited outside the vault: left refused
		}
		row.Gen = next.Version
		if row.MAC, err = p.mac(key, row); err != nil {
			return 0, err
		}
		next.Gens[row.Name] = row.Gen
		fmt.Fprintf(&sql, "UPDATE $p%d SET gen = $g, mac = $m%d;\n", i, i)
		vars[fmt.Sprintf("p%d", i)], vars[fmt.Sprintf("m%d", i)] = policyID(row.Name), row.MAC
		n++
	}
	if n == 0 {
		return 0, nil
	}
	vars["g"] = next.Version
	if next.MAC, err = integrity.Sum(key, "policy-state", "policies", next.macFields()); err != nil {
		return 0, err
	}
	vars["next"] = next
	if got.State == nil {
		sql.WriteString("CREATE $st CONTENT $next;\n")
	} else {
		sql.WriteString("IF array::len((UPDATE $st CONTENT $next WHERE version = $v)) = 0 { THROW 'policy state conflict' };\n")
	}
	if _, err := surreal.Query[any](ctx, p.db, surreal.Atomic(sql.String()), vars); err != nil {
		return 0, errors.Join(errors.New("re-MAC policies: the policy state changed meanwhile; unseal again"), err)
	}
	return n, nil
}
