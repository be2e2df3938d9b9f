// Package snapshot saves and restores the vault's storage: every record of
// every vault table exactly as stored (barrier ciphertext, keyed hashes,
// KMS-wrapped material), in a gzip'd tar with a header, per-table counts and
// a checksum over everything (see format.go).
//
// Save streams page by page, so a snapshot never sits whole in memory. Each
// page is one read of SurrealDB: records are whole, but a snapshot taken
// while the vault takes writes is not a single point in time across pages.
//
// Restore verifies the whole stream while it stages the pages in
// snapshot_stage, then replaces every vault table in one transaction and
// leaves the vault sealed with the snapshot's keyring: it unseals with the
// shares of the vault the snapshot came from. A truncated, altered or foreign
// snapshot is refused before any vault table is touched.
package snapshot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// ErrNotInitialized means there is no vault to snapshot.
var ErrNotInitialized = errors.New("vault is not initialized: nothing to snapshot")

// Summary describes a snapshot written or restored.
type Summary struct {
	Meta   Meta
	Counts map[string]int
}

// Save writes a snapshot of db's vault to w; writtenBy names the writer in
// the header; key (the record key; nil while sealed) MACs it.
func Save(ctx context.Context, db *surreal.Client, w io.Writer, writtenBy string, key []byte) (Summary, error) {
	st := store{db: db}
	gen, ok, err := st.generation(ctx)
	if err != nil {
		return Summary{}, err
	}
	if !ok {
		return Summary{}, ErrNotInitialized
	}
	now := time.Now().UTC()
	meta := Meta{Format: Format, Version: Version, CreatedAt: now, WrittenBy: writtenBy,
		SealGeneration: gen, Tables: Tables, PageSize: pageSize}
	a := newArchive(w, now)
	if err := a.addJSON(metaName, meta); err != nil {
		return Summary{}, err
	}
	counts := map[string]int{}
	for _, t := range Tables {
		if counts[t], err = saveTable(ctx, st, a, t); err != nil {
			return Summary{}, err
		}
	}
	if err := a.addJSON(countsName, counts); err != nil {
		return Summary{}, err
	}
	if err := a.close(key); err != nil {
		return Summary{}, err
	}
	return Summary{Meta: meta, Counts: counts}, nil
}

// saveTable writes table's records as pages and returns how many there were.
func saveTable(ctx context.Context, st store, a *archive, table string) (int, error) {
	var after *models.RecordID
	n := 0
	for seq := 1; ; seq++ {
		rows, err := st.page(ctx, table, after)
		if err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			return n, nil
		}
		raw, err := surreal.MarshalCBOR(rows)
		if err != nil {
			return 0, fmt.Errorf("snapshot %s: %w", table, err)
		}
		if err := a.add(pageName(table, seq), raw); err != nil {
			return 0, err
		}
		n += len(rows)
		id, ok := rows[len(rows)-1]["id"].(models.RecordID)
		if !ok {
			return 0, fmt.Errorf("snapshot %s: a record without a record id", table)
		}
		after = &id
		if len(rows) < pageSize {
			return n, nil
		}
	}
}

// Restore verifies the snapshot read from r and, only if all of it is
// sound, replaces the vault's storage with it; the vault is then sealed.
// Without force the snapshot must come from this vault (the same keyring),
// as OpenBao's restore without -force asks of the cluster, and carry its MAC
// under key (this vault's record key; nil while sealed).
func Restore(ctx context.Context, db *surreal.Client, r io.Reader, force bool, key []byte) (Summary, error) {
	st := store{db: db}
	id := "r" + keeper.NewUUID()
	if err := st.dropStage(ctx, id); err != nil {
		return Summary{}, err
	}
	var ring []byte
	meta, counts, rd, err := read(r, func(table string, seq int, rows []Record) error {
		for _, row := range rows {
			if row["id"] == configID {
				ring, _ = row["keyring"].([]byte)
			}
		}
		return st.stage(ctx, id, table, seq, rows)
	})
	if err == nil && ring == nil {
		err = invalid("it holds no seal configuration (seal:config with a keyring)")
	}
	if err == nil && !force {
		err = sameVault(ctx, st, ring)
	}
	if err == nil && !force {
		err = signed(rd, key)
	}
	if err == nil {
		err = st.apply(ctx, id, meta.SealGeneration, counts)
	}
	if err != nil {
		// A context that ended still lets the staging go.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return Summary{}, errors.Join(err, st.dropStage(cleanup, id))
	}
	return Summary{Meta: meta, Counts: counts}, nil
}

var configID = models.NewRecordID("seal", "config")

// signed refuses, for a restore into the same vault, a snapshot without this
// vault's MAC: its plain fields (a token's policies, a policy's text) are
// trusted as this vault's own, so one that anyone could have rewritten and
// re-summed is not taken. Forced restores (into another vault) do not check
// it: that vault's keys are not here.
func signed(rd *reader, key []byte) error {
	const force = "; restore it with snapshot-force (bao operator raft snapshot restore -force) if you trust where it was kept"
	switch {
	case key == nil:
		return invalid("the vault is sealed, so the snapshot's MAC cannot be checked: unseal first" + force)
	case rd.mac == "":
		return invalid("it carries no MAC of this vault (taken while sealed, or by an older version)" + force)
	case !hmac.Equal([]byte(rd.mac), []byte(MAC(key, rd.signed))):
		return invalid("its MAC does not match: it was altered after it was taken, or taken by another vault" + force)
	}
	return nil
}

// sameVault refuses a snapshot whose keyring is not this vault's.
func sameVault(ctx context.Context, st store, ring []byte) error {
	cur, err := st.keyring(ctx)
	if err != nil {
		return err
	}
	if cur != nil && !bytes.Equal(cur, ring) {
		return invalid("it was taken from another vault (its keyring differs): restore it with snapshot-force " +
			"(bao operator raft snapshot restore -force), then unseal with that vault's shares")
	}
	return nil
}
