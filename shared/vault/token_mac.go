package vault

import (
	"context"
	"errors"
	"log/slog"

	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// tokenMACFields are what a token's MAC covers: everything that decides what
// it may do and for how long. Not covered: uses_left (spent by an UPDATE in
// SurrealDB; bounded by num_uses on read), ttl_seconds (shown, never
// enforced) and parent/orphan (revoke-orphan rewrites them in bulk), so a
// database writer can at most detach a token from its parent.
type tokenMACFields struct {
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
	f := tokenMACFields{Accessor: t.Accessor, Policies: t.Policies, Meta: t.Meta, DisplayName: t.DisplayName,
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
	var tampered *integrity.TamperedError
	if errors.As(err, &tampered) {
		slog.ErrorContext(ctx, "token record refused", "accessor", t.Accessor, "err", err)
		return nil, nil
	}
	return t, err
}
