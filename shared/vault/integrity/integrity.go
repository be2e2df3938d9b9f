// Package integrity MACs the vault's authorization records (tokens, policies,
// mounts, leases) with a key derived in vault-crypto, so that whoever can
// write SurrealDB but holds no vault key cannot grant a token more policies,
// rewrite a policy or a mount, or plant a lease whose revocation statements
// the sweep would run: a record whose MAC does not match is refused.
//
// Records written before MACs existed (or before their current format)
// carry none (or an older one) and are refused too, with ErrTampered's
// message saying so, except once: at the first unseal after the upgrade,
// vault-sys MACs them and the keyring, which only the root key opens,
// records that it did (see the vault package's remac.go). A MAC proves the
// vault wrote a record, not that it is the current one: replays are stopped
// by tombstones (revoked tokens) and generations (policies) beside it.
package integrity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// prefix names the MAC's version: HMAC-SHA256 over the JSON of the fields.
const prefix = "v1:"

// TamperedError is a record that failed its integrity check.
type TamperedError struct {
	Kind, ID string
	Missing  bool
}

func (e *TamperedError) Error() string {
	if e.Missing {
		return fmt.Sprintf("%s %s has no integrity MAC (written by an older version or outside the vault): refused", e.Kind, e.ID)
	}
	return fmt.Sprintf("%s %s failed its integrity check (edited outside the vault): refused", e.Kind, e.ID)
}

// Sum is the MAC of a record of kind with id, over fields (any value that
// encodes to JSON deterministically: a struct, or maps, whose keys
// encoding/json sorts).
func Sum(key []byte, kind, id string, fields any) (string, error) {
	body, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("integrity of %s %s: %w", kind, id, err)
	}
	m := hmac.New(sha256.New, key)
	// Kind and id are length-prefixed so no field can shift into another.
	fmt.Fprintf(m, "%d:%s%d:%s", len(kind), kind, len(id), id)
	m.Write(body)
	return prefix + hex.EncodeToString(m.Sum(nil)), nil
}

// Check verifies mac against the record's fields; a mismatch or a missing
// MAC is a *TamperedError.
func Check(key []byte, kind, id string, fields any, mac string) error {
	if mac == "" {
		return &TamperedError{Kind: kind, ID: id, Missing: true}
	}
	want, err := Sum(key, kind, id, fields)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(want), []byte(mac)) {
		return &TamperedError{Kind: kind, ID: id}
	}
	return nil
}

// Keys fetches the record key from vault-crypto and keeps it for the seal
// generation it belongs to: a caller that observed the same generation uses
// it without a round trip; any other asks again. Safe for concurrent use.
type Keys struct {
	Crypto *keeper.Client

	mu         sync.Mutex
	key        []byte
	generation int
}

// Get is the record key for the generation ctx observed.
func (k *Keys) Get(ctx context.Context) ([]byte, error) {
	gen := keeper.GenerationFrom(ctx)
	k.mu.Lock()
	if gen != 0 && gen == k.generation && k.key != nil {
		key := k.key
		k.mu.Unlock()
		return key, nil
	}
	k.mu.Unlock()
	key, keyGen, err := k.Crypto.RecordKey(ctx)
	if err != nil {
		return nil, err
	}
	k.Put(key, keyGen)
	return key, nil
}

// Bind fetches the key and returns ctx marked with its seal generation, so
// that the Gets of a batch (the lease sweep) make one round trip, not one each.
func (k *Keys) Bind(ctx context.Context) (context.Context, error) {
	if keeper.GenerationFrom(ctx) != 0 {
		return ctx, nil
	}
	key, gen, err := k.Crypto.RecordKey(ctx)
	if err != nil {
		return ctx, err
	}
	k.Put(key, gen)
	return keeper.WithGeneration(ctx, gen), nil
}

// Put keeps a key vault-crypto returned with another answer.
func (k *Keys) Put(key []byte, generation int) {
	if generation == 0 || len(key) == 0 {
		return
	}
	k.mu.Lock()
	k.key, k.generation = key, generation
	k.mu.Unlock()
}
