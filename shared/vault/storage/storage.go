// Package storage keeps the vault's values in SurrealDB's entries table,
// sealed by the barrier before they are written and opened after they are read.
package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Sealer seals and opens records under the barrier key: the keeper itself
// inside vault-crypto, a keeper.Client everywhere else.
type Sealer interface {
	SealRecords(ctx context.Context, recs []keeper.Record) ([]keeper.Record, error)
	OpenRecords(ctx context.Context, recs []keeper.Record) ([]keeper.Record, error)
}

// ErrConflict means a conditional write lost to a concurrent one.
var ErrConflict = errors.New("storage conflict")

// Store keeps values at storage paths, sealed before they reach SurrealDB
// and opened after: SurrealDB holds only ciphertext.
type Store struct {
	DB     *surreal.Client
	Crypto Sealer
}

// Entry is an opened value and its revision.
type Entry struct {
	Path string
	Data []byte
	Rev  int
}

type storedEntry struct {
	Path string `json:"path"`
	Blob []byte `json:"blob"`
	Rev  int    `json:"rev"`
}

func entryID(path string) models.RecordID { return models.NewRecordID("entries", path) }

// Get opens the entries at paths (missing ones are absent from the map).
// (SurrealDB 3.0.2 rejects `FROM $ids` for an array parameter with a
// misleading "Specify a database to use"; `$ids[*]` is the same list.)
func (s *Store) Get(ctx context.Context, paths ...string) (map[string]Entry, error) {
	ids := make([]models.RecordID, len(paths))
	for i, p := range paths {
		ids[i] = entryID(p)
	}
	rows, err := surreal.Query[[]storedEntry](ctx, s.DB, "SELECT path, blob, rev FROM $ids[*]", map[string]any{"ids": ids})
	if err != nil {
		return nil, fmt.Errorf("storage get: %w", err)
	}
	out := map[string]Entry{}
	if len(rows) == 0 {
		return out, nil
	}
	recs := make([]keeper.Record, len(rows))
	for i, r := range rows {
		recs[i] = keeper.Record{Path: r.Path, Data: r.Blob}
	}
	opened, err := s.Crypto.OpenRecords(ctx, recs)
	if err != nil {
		return nil, err
	}
	for i, r := range opened {
		out[r.Path] = Entry{Path: r.Path, Data: r.Data, Rev: rows[i].Rev}
	}
	return out, nil
}

// Write is one conditional write: Rev 0 creates (fails if the path exists),
// Rev > 0 replaces only that revision, Rev < 0 writes unconditionally. With
// Remove set it deletes the path instead, so that a write and what it makes
// obsolete commit together: with Rev > 0 only that revision (else
// ErrConflict), otherwise whatever is there (gone already is fine).
type Write struct {
	Path   string
	Data   []byte
	Rev    int
	Remove bool
}

// Put seals and stores writes in one transaction: all or none.
func (s *Store) Put(ctx context.Context, writes ...Write) error {
	var recs []keeper.Record
	for _, w := range writes {
		if !w.Remove {
			recs = append(recs, keeper.Record{Path: w.Path, Data: w.Data})
		}
	}
	var sealed []keeper.Record
	if len(recs) > 0 {
		var err error
		if sealed, err = s.Crypto.SealRecords(ctx, recs); err != nil {
			return err
		}
		if len(sealed) != len(recs) {
			return fmt.Errorf("storage put: %d records sealed of %d", len(sealed), len(recs))
		}
	}
	var sql strings.Builder
	vars := map[string]any{}
	sql.WriteString("BEGIN TRANSACTION;\n")
	for i, w := range writes {
		id, blob, rev := fmt.Sprintf("id%d", i), fmt.Sprintf("blob%d", i), fmt.Sprintf("rev%d", i)
		vars[id] = entryID(w.Path)
		if w.Remove && w.Rev > 0 {
			vars[rev] = w.Rev
			fmt.Fprintf(&sql, "IF array::len((DELETE $%s WHERE rev = $%s RETURN BEFORE)) = 0 { THROW 'storage conflict' };\n", id, rev)
			continue
		}
		if w.Remove {
			fmt.Fprintf(&sql, "DELETE $%s;\n", id)
			continue
		}
		vars[blob], vars[rev] = sealed[0].Data, w.Rev
		sealed = sealed[1:]
		vars[fmt.Sprintf("path%d", i)] = w.Path
		switch {
		case w.Rev == 0:
			fmt.Fprintf(&sql, "CREATE $%s CONTENT { path: $path%d, blob: $%s, rev: 1 };\n", id, i, blob)
		case w.Rev > 0:
			fmt.Fprintf(&sql, "IF array::len((UPDATE $%s SET blob = $%s, rev = rev + 1 WHERE rev = $%s)) = 0 { THROW 'storage conflict' };\n", id, blob, rev)
		default:
			fmt.Fprintf(&sql, "UPSERT $%s CONTENT { path: $path%d, blob: $%s, rev: 1 };\n", id, i, blob)
		}
	}
	sql.WriteString("COMMIT TRANSACTION;")
	if _, err := surreal.Query[any](ctx, s.DB, sql.String(), vars); err != nil {
		var qe *surreal.QueryError
		if errors.As(err, &qe) && (strings.Contains(qe.Message, "storage conflict") || strings.Contains(qe.Message, "already exists")) {
			return ErrConflict
		}
		return fmt.Errorf("storage put: %w", err)
	}
	return nil
}

// Delete removes the entries at paths.
func (s *Store) Delete(ctx context.Context, paths ...string) error {
	ids := make([]models.RecordID, len(paths))
	for i, p := range paths {
		ids[i] = entryID(p)
	}
	if _, err := surreal.Query[any](ctx, s.DB, "DELETE $ids", map[string]any{"ids": ids}); err != nil {
		return fmt.Errorf("storage delete: %w", err)
	}
	return nil
}

// DeletePrefix removes every entry under prefix.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if _, err := surreal.Query[any](ctx, s.DB, "DELETE entries WHERE string::starts_with(path, $p)", map[string]any{"p": prefix}); err != nil {
		return fmt.Errorf("storage delete %s*: %w", prefix, err)
	}
	return nil
}

// List returns the immediate children of prefix as Vault lists them: names,
// with a trailing "/" for folders, sorted.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	paths, err := surreal.Query[[]string](ctx, s.DB, "SELECT VALUE path FROM entries WHERE string::starts_with(path, $p)", map[string]any{"p": prefix})
	if err != nil {
		return nil, fmt.Errorf("storage list %s: %w", prefix, err)
	}
	seen := map[string]bool{}
	var keys []string
	for _, p := range paths {
		rest := strings.TrimPrefix(p, prefix)
		if i := strings.Index(rest, "/"); i >= 0 {
			rest = rest[:i+1]
		}
		if rest != "" && !seen[rest] {
			seen[rest] = true
			keys = append(keys, rest)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Revision returns the revision of the entry at path, 0 when there is none:
// a cheap check that a cached value is still current.
func (s *Store) Revision(ctx context.Context, path string) (int, error) {
	rev, err := surreal.Query[*int](ctx, s.DB, "SELECT VALUE rev FROM ONLY $id", map[string]any{"id": entryID(path)})
	if err != nil {
		return 0, fmt.Errorf("storage revision %s: %w", path, err)
	}
	if rev == nil {
		return 0, nil
	}
	return *rev, nil
}

// GetJSON opens the entry at path into v and returns its revision (0, and v
// untouched, when there is none).
func (s *Store) GetJSON(ctx context.Context, path string, v any) (int, error) {
	got, err := s.Get(ctx, path)
	if err != nil {
		return 0, err
	}
	ent, ok := got[path]
	if !ok {
		return 0, nil
	}
	if err := json.Unmarshal(ent.Data, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
	return ent.Rev, nil
}

// PutJSON seals and stores v at path, conditionally on rev as Put does.
func (s *Store) PutJSON(ctx context.Context, path string, v any, rev int) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return s.Put(ctx, Write{Path: path, Data: raw, Rev: rev})
}
