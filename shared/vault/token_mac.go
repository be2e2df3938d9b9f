package vault

import (
	"context"
	"errors"
	"log/slog"

	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// tokenMACFields are what a token's MAC covers: everything that decides what
// it may do and for how long, and its place in the tree (parent, orphan), so
// that a child cannot be detached from its parent's revocation; revoke-orphan
// MACs the children it detaches again. Not covered: uses_left (spent by an
// UPDATE in SurrealDB; bounded by num_uses on read) and ttl_seconds (shown,
// never enforced). The last renewal's time is covered too. A MAC proves the vault wrote the record, not that it is
// current: a revoked token's saved record is refused by its tombstone (see
// tokentree).
type tokenMACFields struct {
	tokenMACFieldsV1
	Parent string `json:"parent"` // "" for none
	Orphan bool   `json:"orphan"`
	// LastRenewal is left out until a renewal sets it, so records MAC'd
	// before it was covered still verify.
	LastRenewal int64 `json:"last_renewal,omitempty"`
	// RevGen, likewise, once a revocation state exists for the token.
	RevGen int `json:"rev_gen,omitempty"`
}

// tokenMACFieldsV1 is what a token's MAC covered before parent and orphan
// were: the one-time re-MAC at unseal (remac.go) checks such records with it.
type tokenMACFieldsV1 struct {
	Accessor       string            `json:"accessor"`
	Policies       []string          `json:"policies"`
	Meta           map[string]string `json:"meta"`
	DisplayName    string            `json:"display_name"`
	Created        int64             `json:"created"`
	ExplicitMaxTTL int64             `json:"explicit_max_ttl"`
	Period         int64             `json:"period"`
	Expire         int64             `json:"expire"` // Unix seconds, 0: never
	NumUses        int               `json:"num_uses"`
	Renewable      bool              `json:"renewable"`
	Path           string            `json:"path"`
}

func macFieldsOf(t *Token) tokenMACFields {
	f := tokenMACFields{tokenMACFieldsV1: macFieldsV1Of(t), Orphan: t.Orphan, LastRenewal: t.LastRenewal, RevGen: t.RevGen}
	if t.Parent != nil {
		f.Parent = *t.Parent
	}
	return f
}

func macFieldsV1Of(t *Token) tokenMACFieldsV1 {
	f := tokenMACFieldsV1{Accessor: t.Accessor, Policies: t.Policies, Meta: t.Meta, DisplayName: t.DisplayName,
		Created: t.CreationTime.Unix(), ExplicitMaxTTL: t.ExplicitMaxTTL, Period: t.Period, NumUses: t.NumUses,
		Renewable: t.Renewable, Path: t.Path}
	if f.Meta == nil {
		f.Meta = map[string]string{}
	}
	if f.Policies == nil {
		f.Policies = []string{}
	}
	if t.ExpireTime != nil {
		f.Expire = t.ExpireTime.Unix()
	}
	return f
}

// tokenMAC is the MAC a token's record carries, under key (nil: the
// record key from vault-crypto).
func (ts *tokens) tokenMAC(ctx context.Context, t *Token, key []byte) (string, error) {
	if key == nil {
		var err error
		if key, err = ts.keys.Get(ctx); err != nil {
			return "", apiError(err)
		}
	}
	return integrity.Sum(key, "token", t.Hash, macFieldsOf(t))
}

// verify refuses a token record edited outside the vault: it is treated as
// no token (permission denied), and logged as an integrity failure.
func (ts *tokens) verify(ctx context.Context, row *tokenRow) (*Token, error) {
	t := row.token()
	key, err := ts.keys.Get(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	err = integrity.Check(key, "token", t.Hash, macFieldsOf(t), row.MAC)
	if err == nil && (t.UsesLeft > t.NumUses || t.UsesLeft < 0) {
		err = &integrity.TamperedError{Kind: "token", ID: t.Hash}
	}
	if err == nil && row.Revoked {
		slog.ErrorContext(ctx, "token record refused: the token was revoked and its record put back", "accessor", t.Accessor)
		return nil, nil
	}
	var tampered *integrity.TamperedError
	if errors.As(err, &tampered) {
		slog.ErrorContext(ctx, "token record refused", "accessor", t.Accessor, "err", err)
		return nil, nil
	}
	return t, err
}
