package vault

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
	"github.com/stratumiops/stratumiops/shared/vault/tokentree"
)

// Token is a token's record, kept under the keyed hash of its id.
type Token struct {
	Hash           string            `json:"-"`
	Accessor       string            `json:"accessor"`
	Parent         *string           `json:"parent,omitempty"`
	Policies       []string          `json:"policies"`
	Meta           map[string]string `json:"meta"`
	DisplayName    string            `json:"display_name"`
	CreationTime   time.Time         `json:"creation_time"`
	TTLSeconds     int64             `json:"ttl_seconds"`
	ExplicitMaxTTL int64             `json:"explicit_max_ttl_seconds"`
	Period         int64             `json:"period_seconds"` // a periodic token's period; 0 if not periodic
	ExpireTime     *time.Time        `json:"expire_time,omitempty"`
	NumUses        int               `json:"num_uses"`
	UsesLeft       int               `json:"uses_left"`
	Renewable      bool              `json:"renewable"`
	Orphan         bool              `json:"orphan"`
	Path           string            `json:"path"`
	// LastRenewal is when the token was last renewed (Unix seconds; 0: never).
	LastRenewal int64 `json:"last_renewal_time,omitempty"`
	// RevGen is the version of its revocation state when it was created (token_revoked.go).
	RevGen int `json:"rev_gen,omitempty"`
}

func (t *Token) isRoot() bool { return slices.Contains(t.Policies, "root") }

func tokenID(hash string) models.RecordID { return models.NewRecordID("tokens", hash) }

const tokenFields = "*, record::id(id) AS hash, " + tokentree.Buried + " AS revoked"

type tokenRow struct {
	Token
	HashField string `json:"hash"`
	MAC       string `json:"mac"`
	Revoked   bool   `json:"revoked"` // a tombstone says it was revoked
}

func (r *tokenRow) token() *Token {
	t := r.Token
	t.Hash = r.HashField
	if t.Meta == nil {
		t.Meta = map[string]string{}
	}
	return &t
}

// tokens is the token store.
type tokens struct {
	db     *surreal.Client
	crypto *keeper.Client
	keys   *integrity.Keys // MACs token records
	// recent keeps unlimited-use tokens, by the SHA-256 of their id, for
	// storage.ReadTTL; a revocation or renewal through this instance clears it.
	recent storage.Recent[[sha256.Size]byte, Token]
}

// byHash reads a token with its revocation state, in one query.
func (ts *tokens) byHash(ctx context.Context, hash string) (*Token, error) {
	bucket := revocationBucket(hash)
	got, err := surreal.Query[struct {
		Row   *tokenRow        `json:"row"`
		State *revocationState `json:"state"`
	}](ctx, ts.db, "RETURN { row: (SELECT "+tokenFields+" FROM ONLY $id), state: (SELECT revoked, version, mac FROM ONLY $st) }",
		map[string]any{"id": tokenID(hash), "st": revocationStateID(bucket)})
	if err != nil {
		return nil, fmt.Errorf("token lookup: %w", err)
	}
	if got.Row == nil {
		return nil, nil
	}
	return ts.verifyLive(ctx, got.Row, bucket, got.State)
}

func (ts *tokens) byAccessor(ctx context.Context, accessor string) (*Token, error) {
	rows, err := surreal.Query[[]tokenRow](ctx, ts.db, "SELECT "+tokenFields+" FROM tokens WHERE accessor = $a", map[string]any{"a": accessor})
	if err != nil {
		return nil, fmt.Errorf("token lookup by accessor: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	bucket := revocationBucket(rows[0].HashField)
	st, err := surreal.Query[*revocationState](ctx, ts.db, "SELECT revoked, version, mac FROM ONLY $st",
		map[string]any{"st": revocationStateID(bucket)})
	if err != nil {
		return nil, fmt.Errorf("token lookup by accessor: %w", err)
	}
	return ts.verifyLive(ctx, &rows[0], bucket, st)
}

// verifyLive is verify, and refuses a token its revocation state lists.
func (ts *tokens) verifyLive(ctx context.Context, row *tokenRow, bucket string, st *revocationState) (*Token, error) {
	t, err := ts.verify(ctx, row)
	if err != nil || t == nil {
		return t, err
	}
	key, err := ts.keys.Get(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	if st, err = ts.checkRevocations(ctx, key, bucket, st); err != nil {
		return nil, err
	}
	if revokedHere(ctx, st, t) {
		return nil, nil
	}
	return t, nil
}

// lookup resolves a token id to its live record (nil if unknown or expired).
func (ts *tokens) lookup(ctx context.Context, id string) (*Token, error) {
	if id == "" {
		return nil, nil
	}
	key := sha256.Sum256([]byte(id))
	if t, ok := ts.recent.Get(key); ok && (t.ExpireTime == nil || time.Now().Before(*t.ExpireTime)) {
		return &t, nil
	}
	t, err := ts.read(ctx, id)
	if err == nil && t != nil && t.NumUses == 0 {
		ts.recent.Put(key, *t)
	}
	return t, err
}

// read resolves a token id from SurrealDB.
func (ts *tokens) read(ctx context.Context, id string) (*Token, error) {
	hash, key, gen, err := ts.crypto.TokenHashAndRecordKey(ctx, id)
	if err != nil {
		return nil, apiError(err)
	}
	ts.keys.Put(key, gen)
	t, err := ts.byHash(ctx, hash)
	if err != nil || t == nil {
		return nil, err
	}
	// An expired or used-up token goes here; its leases go with vault-database's
	// next sweep, which revokes leases whose token is gone. It is refused even
	// when revoking it fails: the sweep takes it later.
	if t.ExpireTime != nil && time.Now().After(*t.ExpireTime) {
		if _, err := ts.revoke(ctx, t); err != nil {
			slog.WarnContext(ctx, "expired token refused; revoking it failed (the sweep retries)", "token", accessorDigest(t.Accessor), "error", err)
		}
		return nil, nil
	}
	return t, nil
}

// authenticate resolves the request's token and spends one of its uses.
// A sealed vault answers 503 first, as Vault does.
func (ts *tokens) authenticate(ctx context.Context, r *http.Request) (*Token, error) {
	if sealedNow(ctx) {
		return nil, errSealed
	}
	id := requestToken(r)
	if id == "" {
		// A sealed vault answers 503 before it asks for a token.
		if _, err := ts.crypto.TokenHash(ctx, "probe"); err != nil {
			return nil, apiError(err)
		}
		return nil, errPermissionDenied
	}
	t, err := ts.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errPermissionDenied
	}
	if t.NumUses > 0 {
		left, err := surreal.Query[[]int](ctx, ts.db,
			"UPDATE $id SET uses_left -= 1 WHERE uses_left > 0 RETURN VALUE uses_left", map[string]any{"id": tokenID(t.Hash)})
		if err != nil {
			return nil, fmt.Errorf("spend token use: %w", err)
		}
		if len(left) == 0 {
			return nil, errPermissionDenied
		}
		t.UsesLeft = left[0]
		if left[0] == 0 {
			// The last use: the token is revoked after this request, as Vault does.
			defer func() { _, _ = ts.revoke(context.WithoutCancel(ctx), t) }()
		}
	}
	return t, nil
}

// tokenRequest is the body of auth/token/create.
type tokenRequest struct {
	ID              string            `json:"id"`
	Policies        []string          `json:"policies"`
	Meta            map[string]string `json:"meta"`
	NoParent        bool              `json:"no_parent"`
	NoDefaultPolicy bool              `json:"no_default_policy"`
	TTL             any               `json:"ttl"`
	ExplicitMaxTTL  any               `json:"explicit_max_ttl"`
	DisplayName     string            `json:"display_name"`
	NumUses         int               `json:"num_uses"`
	Renewable       *bool             `json:"renewable"`
	Period          any               `json:"period"`
	Type            string            `json:"type"`
	// path, display and granted, when set, are a login's: the path it came
	// from, its display name ("auth/token/create" and "token-<name>"
	// otherwise) and its policies, final (not derived from a parent's).
	path, display string
	granted       []string
}

// defaultTTL and maxTTL are the token store's limits, as Vault's defaults.
const (
	defaultTTL = 768 * time.Hour
	maxTTL     = 768 * time.Hour
)

// create issues a child of parent (an orphan when asked and allowed), and
// the warnings of what it capped.
func (ts *tokens) create(ctx context.Context, parent *Token, req tokenRequest, orphan bool) (string, *Token, []string, error) {
	if req.ID != "" {
		return "", nil, nil, badRequest("custom token ids are not supported: ids are always random")
	}
	if req.Type != "" && req.Type != "service" {
		return "", nil, nil, badRequest("token type %q is not supported; only service tokens", req.Type)
	}
	if req.NumUses < 0 {
		return "", nil, nil, badRequest("number of uses cannot be negative")
	}
	ttl, err := parseDuration(req.TTL)
	if err != nil {
		return "", nil, nil, badRequest("invalid 'ttl': %v", err)
	}
	maxExplicit, err := parseDuration(req.ExplicitMaxTTL)
	if err != nil {
		return "", nil, nil, badRequest("invalid 'explicit_max_ttl': %v", err)
	}
	period, err := parseDuration(req.Period)
	if err != nil {
		return "", nil, nil, badRequest("invalid 'period': %v", err)
	}
	period = min(period, maxTTL) // as Vault: a period is capped at the system maximum
	var warnings []string
	if maxExplicit > maxTTL && period == 0 {
		// As Vault: an explicit max TTL is capped at the system maximum (a
		// periodic token's bounds its period, which may escape it).
		warnings = append(warnings, fmt.Sprintf("Explicit max TTL of %d seconds is greater than system/mount allowed value; value is being capped to %d seconds",
			int64(maxExplicit.Seconds()), int64(maxTTL.Seconds())))
		maxExplicit = maxTTL
	}
	policies := req.granted
	if policies == nil {
		if policies, err = tokenPolicies(req.Policies, parent, req.NoDefaultPolicy); err != nil {
			return "", nil, nil, err
		}
	}
	ttl = grantedTTL(ttl, period, maxExplicit, parent, orphan || req.NoParent)
	renewable := true
	if req.Renewable != nil {
		renewable = *req.Renewable
	}
	display := "token"
	if req.DisplayName != "" {
		display = "token-" + req.DisplayName
	}
	if req.display != "" {
		display = req.display
	}
	now := time.Now().UTC()
	expire := now.Add(ttl)
	t := &Token{Accessor: keeper.NewToken()[2:], Policies: policies, Meta: childMeta(parent, req.Meta), DisplayName: display,
		CreationTime: now, TTLSeconds: int64(ttl.Seconds()), ExplicitMaxTTL: int64(maxExplicit.Seconds()),
		Period:     int64(period.Seconds()),
		ExpireTime: &expire, NumUses: req.NumUses, UsesLeft: req.NumUses, Renewable: renewable,
		Orphan: orphan || req.NoParent, Path: cmp.Or(req.path, "auth/token/create")}
	if !t.Orphan {
		t.Parent = &parent.Hash
	}
	id := keeper.NewToken()
	hash, err := ts.crypto.TokenHash(ctx, id)
	if err != nil {
		return "", nil, nil, apiError(err)
	}
	t.Hash = hash
	if err := ts.store(ctx, t, nil); err != nil {
		return "", nil, nil, err
	}
	return id, t, warnings, nil
}

// childMeta is a new token's metadata: its parent's, with what the request
// sets on top (keys beyond the parent's take sudo: see metaBeyondParent).
func childMeta(parent *Token, asked map[string]string) map[string]string {
	meta := maps.Clone(parent.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	maps.Copy(meta, asked)
	return meta
}

// metaBeyondParent names, sorted, the metadata keys a request sets that its
// parent does not hold with the same value. Metadata becomes the token's
// Cedar tags, so a caller must not choose them freely: only root, or sudo
// on the create path, sets them.
func metaBeyondParent(parent *Token, asked map[string]string) []string {
	var keys []string
	for k, v := range asked {
		if have, ok := parent.Meta[k]; !ok || have != v {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// grantedTTL is a new token's TTL: the period for a periodic token (no
// maximum), else the asked TTL (the default if none) within the store's
// maximum; never past an explicit max TTL, nor past the parent's expiry.
func grantedTTL(ttl, period, maxExplicit time.Duration, parent *Token, detached bool) time.Duration {
	switch {
	case period > 0:
		ttl = period
	case ttl == 0:
		ttl = min(defaultTTL, maxTTL)
	default:
		ttl = min(ttl, maxTTL)
	}
	if maxExplicit > 0 {
		ttl = min(ttl, maxExplicit)
	}
	if parent.ExpireTime != nil && !detached {
		ttl = min(ttl, time.Until(*parent.ExpireTime))
	}
	return ttl
}

// store writes a token record, MAC'd under key (nil: the record key from
// vault-crypto; at init, while sealed, the key init returned).
func (ts *tokens) store(ctx context.Context, t *Token, key []byte) error {
	content := map[string]any{
		"accessor": t.Accessor, "policies": t.Policies, "meta": t.Meta, "display_name": t.DisplayName,
		"creation_time": models.CustomDateTime{Time: t.CreationTime}, "ttl_seconds": t.TTLSeconds,
		"explicit_max_ttl_seconds": t.ExplicitMaxTTL, "period_seconds": t.Period, "num_uses": t.NumUses, "uses_left": t.UsesLeft,
		"renewable": t.Renewable, "orphan": t.Orphan, "path": t.Path,
	}
	if t.LastRenewal != 0 {
		content["last_renewal_time"] = t.LastRenewal
	}
	if t.RevGen == 0 {
		gen, err := ts.revocationVersion(ctx, t.Hash, key)
		if err != nil {
			return err
		}
		t.RevGen = gen
	}
	if t.RevGen != 0 {
		content["rev_gen"] = t.RevGen
	}
	if t.Parent != nil {
		content["parent"] = *t.Parent
	}
	if t.ExpireTime != nil {
		content["expire_time"] = models.CustomDateTime{Time: *t.ExpireTime}
	}
	mac, err := ts.tokenMAC(ctx, t, key)
	if err != nil {
		return err
	}
	content["mac"] = mac
	if _, err := surreal.Query[any](ctx, ts.db, "CREATE $id CONTENT $c", map[string]any{"id": tokenID(t.Hash), "c": content}); err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	return nil
}

// revoke deletes a token and, recursively, every token it created, and
// returns their hashes.
func (ts *tokens) revoke(ctx context.Context, t *Token) ([]string, error) {
	defer ts.recent.Clear()
	return ts.revokeRecorded(ctx, func() ([]string, error) {
		return tokentree.RevokeWith(ctx, ts.db, []string{t.Hash}, ts.recordRevocations)
	})
}

// revokeIssuedAt revokes, with their descendants, the tokens a login path
// issued (an auth method being disabled).
func (ts *tokens) revokeIssuedAt(ctx context.Context, path string) error {
	hashes, err := surreal.Query[[]string](ctx, ts.db, "SELECT VALUE record::id(id) FROM tokens WHERE path = $p", map[string]any{"p": path})
	if err != nil {
		return fmt.Errorf("find tokens issued at %s: %w", path, err)
	}
	if len(hashes) == 0 {
		return nil
	}
	defer ts.recent.Clear()
	_, err = ts.revokeRecorded(ctx, func() ([]string, error) {
		return tokentree.RevokeWith(ctx, ts.db, hashes, ts.recordRevocations)
	})
	return err
}

// revokeOrphan deletes the token and makes its children orphans, each MAC'd
// again as one. A child whose record fails its check is left as it is
// (refused, and swept once its parent is gone), as is one created meanwhile.
func (ts *tokens) revokeOrphan(ctx context.Context, t *Token) ([]string, error) {
	defer ts.recent.Clear()
	return ts.revokeRecorded(ctx, func() ([]string, error) { return ts.revokeOrphanOnce(ctx, t) })
}

func (ts *tokens) revokeOrphanOnce(ctx context.Context, t *Token) ([]string, error) {
	rows, err := surreal.Query[[]tokenRow](ctx, ts.db, "SELECT "+tokenFields+" FROM tokens WHERE parent = $h", map[string]any{"h": t.Hash})
	if err != nil {
		return nil, fmt.Errorf("revoke orphan: read children: %w", err)
	}
	var sql strings.Builder
	vars := map[string]any{"h": t.Hash, "ids": []models.RecordID{tokenID(t.Hash)}}
	for i := range rows {
		child, err := ts.verify(ctx, &rows[i])
		if err != nil {
			return nil, err
		}
		if child == nil {
			continue
		}
		child.Parent, child.Orphan = nil, true
		mac, err := ts.tokenMAC(ctx, child, nil)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&sql, "UPDATE $c%d SET parent = NONE, orphan = true, mac = $m%d WHERE parent = $h;\n", i, i)
		vars[fmt.Sprintf("c%d", i)], vars[fmt.Sprintf("m%d", i)] = tokenID(child.Hash), mac
	}
	sql.WriteString(tokentree.Bury("ids"))
	more, moreVars, err := ts.recordRevocations(ctx, []string{t.Hash})
	if err != nil {
		return nil, err
	}
	sql.WriteString(more)
	maps.Copy(vars, moreVars)
	if _, err := surreal.Query[any](ctx, ts.db, surreal.Atomic(sql.String()), vars); err != nil {
		return nil, fmt.Errorf("revoke orphan: %w", err)
	}
	return []string{t.Hash}, nil
}

// renew extends a renewable token by increment (or its original TTL), never
// past its explicit max TTL or the store's maximum.
func (ts *tokens) renew(ctx context.Context, t *Token, increment time.Duration) (*Token, error) {
	defer ts.recent.Clear()
	if !t.Renewable {
		return nil, badRequest("lease is not renewable")
	}
	// As Vault: a periodic token gets its period again, whatever was asked;
	// without an increment a token gets the TTL its last renewal granted.
	switch {
	case t.Period > 0:
		increment = time.Duration(t.Period) * time.Second
	case increment <= 0:
		increment = time.Duration(t.TTLSeconds) * time.Second
	}
	limit, err := ts.renewLimit(ctx, t)
	if err != nil {
		return nil, err
	}
	expire := time.Now().UTC().Add(increment)
	if !limit.IsZero() && expire.After(limit) {
		expire = limit
	}
	granted := int64(time.Until(expire).Round(time.Second).Seconds())
	renewed := *t
	renewed.ExpireTime, renewed.TTLSeconds, renewed.LastRenewal = &expire, granted, time.Now().Unix()
	mac, err := ts.tokenMAC(ctx, &renewed, nil)
	if err != nil {
		return nil, err
	}
	if _, err := surreal.Query[any](ctx, ts.db, "UPDATE $id SET expire_time = $e, ttl_seconds = $ttl, last_renewal_time = $lr, mac = $mac",
		map[string]any{"id": tokenID(t.Hash), "e": models.CustomDateTime{Time: expire}, "ttl": granted, "lr": renewed.LastRenewal, "mac": mac}); err != nil {
		return nil, fmt.Errorf("renew: %w", err)
	}
	return &renewed, nil
}

// renewLimit is the latest a renewal may set a token's expiry to (zero: no
// limit): the store's maximum from its creation (not for a periodic token),
// its explicit max TTL, and its parent's expiry, since a child never outlives
// its parent. A token whose parent is gone or expired is revoked here.
func (ts *tokens) renewLimit(ctx context.Context, t *Token) (time.Time, error) {
	var limit time.Time
	earlier := func(at time.Time) {
		if limit.IsZero() || at.Before(limit) {
			limit = at
		}
	}
	if t.Period == 0 {
		earlier(t.CreationTime.Add(maxTTL))
	}
	if t.ExplicitMaxTTL > 0 {
		earlier(t.CreationTime.Add(time.Duration(t.ExplicitMaxTTL) * time.Second))
	}
	if t.Parent == nil {
		return limit, nil
	}
	parent, err := ts.byHash(ctx, *t.Parent)
	if err != nil {
		return time.Time{}, err
	}
	if parent == nil || (parent.ExpireTime != nil && !time.Now().Before(*parent.ExpireTime)) {
		if _, err := ts.revoke(ctx, t); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, errBadToken
	}
	if parent.ExpireTime != nil {
		earlier(*parent.ExpireTime)
	}
	return limit, nil
}

// lookupData is the data of a token lookup, in Vault's shape.
func lookupData(t *Token, id string) map[string]any {
	ttl := int64(0)
	var expire any
	if t.ExpireTime != nil {
		ttl = remaining(*t.ExpireTime)
		expire = vaultTime(*t.ExpireTime)
	}
	meta := any(t.Meta)
	if len(t.Meta) == 0 {
		meta = nil
	}
	d := map[string]any{
		"accessor": t.Accessor, "creation_time": t.CreationTime.Unix(), "creation_ttl": t.TTLSeconds,
		"display_name": t.DisplayName, "entity_id": "", "expire_time": expire, "explicit_max_ttl": t.ExplicitMaxTTL,
		"issue_time": vaultTime(t.CreationTime), "meta": meta, "num_uses": t.UsesLeft, "orphan": t.Orphan,
		"path": t.Path, "policies": t.Policies, "renewable": t.Renewable, "ttl": ttl, "type": "service",
	}
	if t.Period > 0 {
		d["period"] = t.Period
	}
	if t.LastRenewal != 0 {
		d["last_renewal_time"] = t.LastRenewal
		d["last_renewal"] = vaultTime(time.Unix(t.LastRenewal, 0))
	}
	if id != "" {
		d["id"] = id
	}
	return d
}

// authData is the "auth" block of a token creation or renewal.
func authData(id string, t *Token) map[string]any {
	lease := int64(0)
	if t.ExpireTime != nil {
		lease = remaining(*t.ExpireTime)
	}
	meta := any(t.Meta)
	if len(t.Meta) == 0 {
		meta = nil
	}
	return map[string]any{
		"client_token": id, "accessor": t.Accessor, "policies": t.Policies, "token_policies": t.Policies,
		"identity_policies": nil, "metadata": meta, "lease_duration": lease, "renewable": t.Renewable,
		"entity_id": "", "token_type": "service", "orphan": t.Orphan, "num_uses": t.NumUses,
	}
}

// remaining is the whole seconds left until expire, rounded as Vault reports
// them: a token created with ttl 1h reads 3600, not 3599.
func remaining(expire time.Time) int64 {
	return max(int64(time.Until(expire).Round(time.Second).Seconds()), 0)
}
