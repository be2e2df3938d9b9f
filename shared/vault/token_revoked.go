package vault

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// A tombstone (token_revoked:⟨hash⟩) refuses a revoked token's record put
// back, but it has no MAC, so whoever puts the record back can delete it too.
// The revocation state closes that: the hashes of the revoked tokens, split
// over 16 records (integrity_state:token_revoked_⟨0-f⟩, by an FNV-1a hash
// of the token's hash) each under one MAC with a version, moved in the transaction that
// deletes the tokens; a lookup reads the token's state with the token and
// refuses a token it lists. An entry goes an hour after its token would have
// expired, as the tombstone does (the token's expiry is under its MAC).
// Each token's record carries, under its MAC, the version its state had
// when it was created (rev_gen), as a policy carries its generation: a state
// deleted, or put back from before a token was created, is refused for that
// token (fail closed), so the state cannot simply be removed; a consistent
// rollback of a state with every token of its bucket cannot be told from the
// past, as with the policy state. Tokens the scheduled sweep revokes (expired
// ones and their descendants) keep the tombstone alone: vault-database holds
// no record key, and an expired token's record is refused by its MAC'd expiry.
type revocationState struct {
	Revoked map[string]int64 `json:"revoked"` // hash → until (Unix seconds; 0: never)
	Version int              `json:"version"`
	MAC     string           `json:"mac,omitempty"`
}

func (st *revocationState) macFields() any {
	return struct {
		Revoked map[string]int64
		Version int
	}{st.Revoked, st.Version}
}

func revocationBucket(hash string) string {
	h := fnv.New32a()
	h.Write([]byte(hash))
	return fmt.Sprintf("token_revoked_%x", h.Sum32()%16)
}

func revocationStateID(bucket string) models.RecordID {
	return models.NewRecordID("integrity_state", bucket)
}

// checkRevocations verifies a state read for bucket (nil: none written) and returns it.
func (ts *tokens) checkRevocations(ctx context.Context, key []byte, bucket string, st *revocationState) (*revocationState, error) {
	if st != nil {
		if err := integrity.Check(key, "token-revocations", bucket, st.macFields(), st.MAC); err != nil {
			slog.ErrorContext(ctx, "token revocation state refused", "state", bucket, "err", err)
			return nil, errPermissionDenied
		}
	}
	if st == nil {
		st = &revocationState{}
	}
	if st.Revoked == nil {
		st.Revoked = map[string]int64{}
	}
	return st, nil
}

// errRevocationRace is a revocation that lost to another on a state.
var errRevocationRace = errors.New("token revocation state changed meanwhile")

// recordRevocations is, for tokentree.RevokeWith, the statements that add
// hashes to their states, each moved only if its version is still the one
// read (so two instances cannot both move it).
func (ts *tokens) recordRevocations(ctx context.Context, hashes []string) (string, map[string]any, error) {
	// An entry is dropped an hour after the token's expiry, taken only from
	// a record whose MAC holds: an expiry edited into the past would
	// otherwise let the entry go early (0 keeps it for good).
	rows, err := surreal.Query[[]tokenRow](ctx, ts.db, "SELECT "+tokenFields+" FROM $ids", map[string]any{"ids": tokenIDs(hashes)})
	if err != nil {
		return "", nil, fmt.Errorf("revoke: read expiries: %w", err)
	}
	until := map[string]int64{}
	for i := range rows {
		if t, err := ts.verify(ctx, &rows[i]); err == nil && t != nil && t.ExpireTime != nil { // nil: refused
			until[t.Hash] = t.ExpireTime.Unix()
		}
	}
	byBucket := map[string][]string{}
	for _, h := range hashes {
		byBucket[revocationBucket(h)] = append(byBucket[revocationBucket(h)], h)
	}
	var sql strings.Builder
	vars := map[string]any{}
	i := 0
	for bucket, hs := range byBucket {
		stmt, err := ts.moveRevocations(ctx, bucket, hs, until, i, vars)
		if err != nil {
			return "", nil, err
		}
		sql.WriteString(stmt)
		i++
	}
	return sql.String(), vars, nil
}

// moveRevocations reads bucket's state, adds hashes and drops the entries
// an hour past their expiry, and returns the statement that writes it.
func (ts *tokens) moveRevocations(ctx context.Context, bucket string, hashes []string, until map[string]int64, i int, vars map[string]any) (string, error) {
	id := revocationStateID(bucket)
	cur, err := surreal.Query[*revocationState](ctx, ts.db, "SELECT revoked, version, mac FROM ONLY $st", map[string]any{"st": id})
	if err != nil {
		return "", fmt.Errorf("read token revocation state: %w", err)
	}
	key, err := ts.keys.Get(ctx)
	if err != nil {
		return "", apiError(err)
	}
	st, err := ts.checkRevocations(ctx, key, bucket, cur)
	if err != nil {
		return "", err
	}
	next := &revocationState{Revoked: maps.Clone(st.Revoked), Version: st.Version + 1}
	cutoff := time.Now().Add(-time.Hour).Unix()
	maps.DeleteFunc(next.Revoked, func(_ string, u int64) bool { return u != 0 && u < cutoff })
	for _, h := range hashes {
		next.Revoked[h] = until[h]
	}
	if next.MAC, err = integrity.Sum(key, "token-revocations", bucket, next.macFields()); err != nil {
		return "", err
	}
	n := fmt.Sprint(i)
	vars["rst"+n], vars["rnext"+n], vars["rv"+n] = id, next, st.Version
	if cur == nil {
		return "CREATE $rst" + n + " CONTENT $rnext" + n + ";\n", nil
	}
	return "IF array::len((UPDATE $rst" + n + " CONTENT $rnext" + n + " WHERE version = $rv" + n +
		")) = 0 { THROW 'token revocation state conflict' };\n", nil
}

// revokeRecorded runs a revocation (tokentree.RevokeWith) again when it lost
// a race on a revocation state.
func (ts *tokens) revokeRecorded(ctx context.Context, run func() ([]string, error)) ([]string, error) {
	for range 16 {
		hashes, err := run()
		var qe *surreal.QueryError
		if errors.As(err, &qe) && (strings.Contains(qe.Message, "token revocation state conflict") || strings.Contains(qe.Message, "already exists")) {
			continue
		}
		return hashes, err
	}
	return nil, apiError(fmt.Errorf("revoke: %w (too many concurrent revocations)", errRevocationRace))
}

// revokedHere is whether st refuses t: it lists t, or is older than the
// state t was created under (deleted, or an older copy put back).
func revokedHere(ctx context.Context, st *revocationState, t *Token) bool {
	if _, ok := st.Revoked[t.Hash]; ok {
		slog.ErrorContext(ctx, "token record refused: the token was revoked and its record and tombstone put back", "accessor", t.Accessor)
		return true
	}
	if t.RevGen > st.Version {
		slog.ErrorContext(ctx, "token record refused: its revocation state is older than the token (deleted or put back)",
			"accessor", t.Accessor, "token_rev_gen", t.RevGen, "state_version", st.Version)
		return true
	}
	return false
}

// revocationVersion is the version of hash's state now, which a token
// created now carries; a state not yet written is written first (empty,
// version 1, MAC'd under key, nil: the record key), so that every token
// carries a version and its state cannot be deleted unseen.
func (ts *tokens) revocationVersion(ctx context.Context, hash string, key []byte) (int, error) {
	bucket := revocationBucket(hash)
	vars := map[string]any{"st": revocationStateID(bucket)}
	for range 2 {
		v, err := surreal.Query[*int](ctx, ts.db, "SELECT VALUE version FROM ONLY $st", vars)
		if err != nil {
			return 0, fmt.Errorf("read token revocation state: %w", err)
		}
		if v != nil {
			return *v, nil
		}
		if key == nil {
			if key, err = ts.keys.Get(ctx); err != nil {
				return 0, apiError(err)
			}
		}
		first := &revocationState{Revoked: map[string]int64{}, Version: 1}
		if first.MAC, err = integrity.Sum(key, "token-revocations", bucket, first.macFields()); err != nil {
			return 0, err
		}
		vars["c"] = first
		_, err = surreal.Query[any](ctx, ts.db, "CREATE $st CONTENT $c", vars)
		var qe *surreal.QueryError
		if err == nil {
			return first.Version, nil
		}
		if !errors.As(err, &qe) || !strings.Contains(qe.Message, "already exists") {
			return 0, fmt.Errorf("write token revocation state: %w", err)
		}
	}
	return 0, apiError(fmt.Errorf("token revocation state %s: %w", bucket, errRevocationRace))
}

func tokenIDs(hashes []string) []models.RecordID {
	ids := make([]models.RecordID, len(hashes))
	for i, h := range hashes {
		ids[i] = tokenID(h)
	}
	return ids
}
