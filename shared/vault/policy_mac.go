package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// policyMACFields are what a policy's MAC covers: its name, its Cedar text,
// the HCL it was written in and its generation. The generation is also in
// the policy state (integrity_state:policies), one record under one MAC that
// holds every policy's generation: a saved older copy of a policy, a policy
// deleted or planted in the database no longer matches the state, and
// putting back an older state makes every policy written since fail instead.
type policyMACFields struct {
	Name, Text, HCL string
	Gen             int `json:",omitempty"`
}

// policyState is every policy's generation and the state's own version.
type policyState struct {
	Gens    map[string]int `json:"gens"`
	Version int            `json:"version"`
	MAC     string         `json:"mac,omitempty"`
}

var policyStateID = models.NewRecordID("integrity_state", "policies")

func (st *policyState) macFields() any {
	return struct {
		Gens    map[string]int
		Version int
	}{st.Gens, st.Version}
}

// checkState verifies the state read (nil: none written yet, no policy has a
// generation) and returns it.
func (p *policies) checkState(ctx context.Context, key []byte, st *policyState) (*policyState, error) {
	if st == nil {
		return &policyState{Gens: map[string]int{}}, nil
	}
	if st.Gens == nil {
		st.Gens = map[string]int{}
	}
	if err := integrity.Check(key, "policy-state", "policies", st.macFields(), st.MAC); err != nil {
		slog.ErrorContext(ctx, "policy state refused", "err", err)
		return nil, errPermissionDenied
	}
	return st, nil
}

func (p *policies) mac(key []byte, row policyRow) (string, error) {
	return integrity.Sum(key, "policy", row.Name, policyMACFields{row.Name, row.Text, row.HCL, row.Gen})
}

// check refuses a policy edited outside the vault, or one that is not the
// generation the state holds; name with no row is a policy that does not
// exist unless the state says it does. Refusing the request, not just the
// policy, fails closed: dropping a policy could drop a forbid.
func (p *policies) check(ctx context.Context, key []byte, st *policyState, name string, row *policyRow) error {
	if err := policyProblem(key, st, name, row); err != nil {
		slog.ErrorContext(ctx, "policy record refused", "policy", name, "err", err)
		return errPermissionDenied
	}
	return nil
}

// policyProblem is why a policy (row nil: absent) is refused; nil if it is not.
func policyProblem(key []byte, st *policyState, name string, row *policyRow) error {
	gen, known := st.Gens[name]
	switch {
	case row == nil && !known:
		return nil
	case row == nil:
		return fmt.Errorf("policy %s was deleted outside the vault", name)
	case !known || row.Gen != gen:
		return fmt.Errorf("policy %s is generation %d, the vault's is %d (a copy put back, or planted)", name, row.Gen, gen)
	}
	return integrity.Check(key, "policy", row.Name, policyMACFields{row.Name, row.Text, row.HCL, row.Gen}, row.MAC)
}

// readChecked reads the named policies and the state in one query and checks
// them; it returns the rows that exist.
func (p *policies) readChecked(ctx context.Context, names []string) ([]policyRow, error) {
	got, err := surreal.Query[struct {
		Rows  []policyRow  `json:"rows"`
		State *policyState `json:"state"`
	}](ctx, p.db, "RETURN { rows: (SELECT name, text, hcl, mac, gen FROM policies WHERE name IN $n), "+
		"state: (SELECT gens, version, mac FROM ONLY $st) }", map[string]any{"n": names, "st": policyStateID})
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	key, err := p.keys.Get(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	st, err := p.checkState(ctx, key, got.State)
	if err != nil {
		return nil, err
	}
	byName := map[string]*policyRow{}
	for i := range got.Rows {
		byName[got.Rows[i].Name] = &got.Rows[i]
	}
	for _, n := range names {
		if err := p.check(ctx, key, st, n, byName[n]); err != nil {
			return nil, err
		}
	}
	return withDefault(names, got.Rows)
}

// errPolicyRace is a policy write that lost to another on the state.
var errPolicyRace = errors.New("policy state changed meanwhile")

// write stores row (nil: deletes name) with the next generation, moving the
// state in the same transaction; the state's version is checked in it, so
// two writers on different instances cannot both move it.
func (p *policies) write(ctx context.Context, name string, row *policyRow) error {
	for range 8 {
		err := p.writeOnce(ctx, name, row)
		if !errors.Is(err, errPolicyRace) {
			return err
		}
	}
	return apiError(fmt.Errorf("write policy %s: %w (too many concurrent policy writes)", name, errPolicyRace))
}

func (p *policies) writeOnce(ctx context.Context, name string, row *policyRow) error {
	cur, err := surreal.Query[*policyState](ctx, p.db, "SELECT gens, version, mac FROM ONLY $st", map[string]any{"st": policyStateID})
	if err != nil {
		return fmt.Errorf("read policy state: %w", err)
	}
	key, err := p.keys.Get(ctx)
	if err != nil {
		return apiError(err)
	}
	st, err := p.checkState(ctx, key, cur)
	if err != nil {
		return err
	}
	next := &policyState{Gens: maps.Clone(st.Gens), Version: st.Version + 1}
	vars := map[string]any{"st": policyStateID, "v": st.Version, "id": policyID(name)}
	var sql strings.Builder
	if row != nil {
		row.Gen = next.Version
		next.Gens[name] = row.Gen
		if row.MAC, err = p.mac(key, *row); err != nil {
			return err
		}
		content := map[string]any{"name": row.Name, "text": row.Text, "updated_at": models.CustomDateTime{Time: now()}, "gen": row.Gen, "mac": row.MAC}
		if row.HCL != "" {
			content["hcl"] = row.HCL
		}
		vars["c"] = content
		sql.WriteString("UPSERT $id CONTENT $c;\n")
	} else {
		delete(next.Gens, name)
		sql.WriteString("DELETE $id;\n")
	}
	if next.MAC, err = integrity.Sum(key, "policy-state", "policies", next.macFields()); err != nil {
		return err
	}
	vars["next"] = next
	if cur == nil {
		sql.WriteString("CREATE $st CONTENT $next;\n")
	} else {
		sql.WriteString("IF array::len((UPDATE $st CONTENT $next WHERE version = $v)) = 0 { THROW 'policy state conflict' };\n")
	}
	_, err = surreal.Query[any](ctx, p.db, surreal.Atomic(sql.String()), vars)
	var qe *surreal.QueryError
	if errors.As(err, &qe) && (strings.Contains(qe.Message, "policy state conflict") || strings.Contains(qe.Message, "already exists")) {
		return errPolicyRace
	}
	if err != nil {
		return fmt.Errorf("store policy: %w", err)
	}
	return nil
}
