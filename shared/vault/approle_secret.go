package vault

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// approleSecret is a secret_id's record, stored under its keyed hash: the
// secret_id itself is shown once, when generated.
type approleSecret struct {
	Hash     string            `json:"hash"`
	Accessor string            `json:"secret_id_accessor"`
	Created  time.Time         `json:"creation_time"`
	Expires  *time.Time        `json:"expiration_time,omitempty"`
	NumUses  int               `json:"secret_id_num_uses"`
	UsesLeft int               `json:"uses_left"`
	Metadata map[string]string `json:"metadata"`
}

func (sec *approleSecret) expired(at time.Time) bool {
	return sec.Expires != nil && !at.Before(*sec.Expires)
}

// secretIDHash is the keyed hash a secret_id is stored under (the token
// store's key, in a domain of its own).
func (s *Server) secretIDHash(ctx context.Context, secretID string) (string, error) {
	h, err := s.crypto.TokenHash(ctx, "approle-secret-id\x00"+secretID)
	if err != nil {
		return "", apiError(err)
	}
	return h, nil
}

// approleNewSecretID issues a secret_id for the role, with its TTL and uses.
func (s *Server) approleNewSecretID(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	var body struct {
		Metadata json.RawMessage `json:"metadata"`
		SecretID string          `json:"secret_id"`
		CIDRs    json.RawMessage `json:"cidr_list"`
		TTL      json.RawMessage `json:"ttl"`
		NumUses  json.RawMessage `json:"num_uses"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.SecretID != "" {
		return badRequest("custom secret_ids are not supported: they are always random")
	}
	if len(body.CIDRs) > 0 && !emptyJSON(body.CIDRs) {
		return badRequest("cidr_list is not supported: this vault does not bind AppRole logins to addresses")
	}
	meta, err := secretMetadata(body.Metadata)
	if err != nil {
		return err
	}
	// The metadata becomes the login token's Cedar tags, which only root
	// or sudo on auth/token/create may choose (as for a token's metadata).
	if caller := callerOf(ctx); len(meta) > 0 && (caller == nil || !caller.isRoot()) {
		var err error = errPermissionDenied
		if caller != nil {
			err = s.policies.authorize(ctx, r, caller, capSudo, "auth/token/create", "auth/token/")
		}
		if err == errPermissionDenied {
			return httpapi.Errorf(http.StatusForbidden, "permission_denied",
				"permission denied: secret_id metadata becomes the login token's tags, which takes sudo on auth/token/create")
		}
		if err != nil {
			return err
		}
	}
	role, _, err := s.approleRole(ctx, name)
	if err != nil {
		return err
	}
	if role == nil {
		return badRequest("role %q does not exist", name)
	}
	ttl, uses, err := role.secretLimits(body.TTL, body.NumUses)
	if err != nil {
		return err
	}
	id := keeper.NewUUID()
	hash, err := s.secretIDHash(ctx, id)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	sec := approleSecret{Hash: hash, Accessor: keeper.NewUUID(), Created: now, NumUses: uses, UsesLeft: uses, Metadata: meta}
	if ttl > 0 {
		exp := now.Add(time.Duration(ttl) * time.Second)
		sec.Expires = &exp
	}
	if err := s.st.Put(ctx, storage.Write{Path: role.secretDir(name) + hash, Data: mustJSON(sec)},
		storage.Write{Path: role.accessorDir(name) + sec.Accessor, Data: mustJSON(hash)}); err != nil {
		return err
	}
	respond(w, http.StatusOK, map[string]any{"secret_id": id, "secret_id_accessor": sec.Accessor,
		"secret_id_ttl": ttl, "secret_id_num_uses": uses}, nil, "approle")
	return nil
}

// secretLimits are a new secret_id's TTL (seconds) and uses: the role's,
// or lower ones the request asks for (ttl, num_uses; 0 or absent: the
// role's); more than the role allows is a 400, as in Vault.
func (role *approleRole) secretLimits(rawTTL, rawUses json.RawMessage) (ttl int64, uses int, err error) {
	ttl, uses = role.SecretIDTTL, role.SecretIDNumUses
	if len(rawTTL) > 0 && !emptyJSON(rawTTL) {
		d, err := parseDuration(rawValue(rawTTL))
		if err != nil || d < 0 {
			return 0, 0, badRequest("invalid ttl %s: want seconds or a duration such as \"5m\"", rawTTL)
		}
		if asked := int64(d / time.Second); asked > 0 {
			if role.SecretIDTTL > 0 && asked > role.SecretIDTTL {
				return 0, 0, badRequest("ttl %ds is over the role's secret_id_ttl %ds", asked, role.SecretIDTTL)
			}
			ttl = asked
		}
	}
	if len(rawUses) > 0 && !emptyJSON(rawUses) {
		asked, err := strconv.Atoi(strings.Trim(string(rawUses), `"`))
		if err != nil || asked < 0 {
			return 0, 0, badRequest("invalid num_uses %s: want a whole number, 0 for the role's", rawUses)
		}
		if asked > 0 {
			if role.SecretIDNumUses > 0 && asked > role.SecretIDNumUses {
				return 0, 0, badRequest("num_uses %d is over the role's secret_id_num_uses %d", asked, role.SecretIDNumUses)
			}
			uses = asked
		}
	}
	return ttl, uses, nil
}

// secretMetadata reads metadata given as an object of strings or as a JSON
// string holding one, as Vault accepts it.
func secretMetadata(raw json.RawMessage) (map[string]string, error) {
	meta := map[string]string{}
	if len(raw) == 0 || emptyJSON(raw) {
		return meta, nil
	}
	var text string
	if json.Unmarshal(raw, &meta) != nil && (json.Unmarshal(raw, &text) != nil || json.Unmarshal([]byte(text), &meta) != nil) {
		return nil, badRequest("invalid metadata: want a JSON object of strings")
	}
	if len(meta) > maxSecretMeta {
		return nil, badRequest("%d metadata keys; at most %d", len(meta), maxSecretMeta)
	}
	for k, v := range meta {
		if k == "" || len(k) > 128 || len(v) > maxSecretMetaLen {
			return nil, badRequest("metadata %q: keys of 1–128 bytes, values of at most %d", k, maxSecretMetaLen)
		}
		if k == "role_name" {
			return nil, badRequest("metadata key role_name is the login's own")
		}
	}
	return meta, nil
}

func (s *Server) approleListSecretIDs(w http.ResponseWriter, r *http.Request, name string) error {
	role, _, err := s.approleRole(r.Context(), name)
	if err != nil || role == nil {
		return cmpErr(err, errNotFound)
	}
	keys, err := s.st.List(r.Context(), role.accessorDir(name))
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errNotFound
	}
	respond(w, http.StatusOK, map[string]any{"keys": keys}, nil, "approle")
	return nil
}

// approleFindSecret resolves a secret_id (or, byAccessor, its accessor) to
// its storage path and record; nil when there is none.
func (s *Server) approleFindSecret(ctx context.Context, name string, role *approleRole, value string, byAccessor bool) (string, *approleSecret, int, error) {
	hash := ""
	if value == "" || len(value) > maxSecretIDLen || strings.ContainsAny(value, "/\x00") {
		return "", nil, 0, nil
	}
	if byAccessor {
		if rev, err := s.st.GetJSON(ctx, role.accessorDir(name)+value, &hash); err != nil || rev == 0 {
			return "", nil, 0, err
		}
	} else {
		var err error
		if hash, err = s.secretIDHash(ctx, value); err != nil {
			return "", nil, 0, err
		}
	}
	path := role.secretDir(name) + hash
	var sec approleSecret
	rev, err := s.st.GetJSON(ctx, path, &sec)
	if err != nil || rev == 0 {
		return "", nil, 0, err
	}
	return path, &sec, rev, nil
}

// approleLookupSecretID answers a secret_id's properties as Vault's lookup
// does: an expired one still shows (until tidy removes it), an unknown
// secret_id is a 204, an unknown accessor a 404 that names it.
func (s *Server) approleLookupSecretID(w http.ResponseWriter, r *http.Request, name string, byAccessor bool) error {
	value, err := secretIDArg(r, byAccessor)
	if err != nil {
		return err
	}
	role, _, err := s.approleRole(r.Context(), name)
	if err != nil || role == nil {
		return cmpErr(err, errNotFound)
	}
	if byAccessor {
		rev, hash := 0, ""
		if !strings.ContainsAny(value, "/\x00") {
			if rev, err = s.st.GetJSON(r.Context(), role.accessorDir(name)+value, &hash); err != nil {
				return err
			}
		}
		if rev == 0 {
			return httpapi.Errorf(http.StatusNotFound, "not_found", "failed to find accessor entry for secret_id_accessor: %q", value)
		}
	}
	_, sec, _, err := s.approleFindSecret(r.Context(), name, role, value, byAccessor)
	if err != nil {
		return err
	}
	if sec == nil {
		noContent(w)
		return nil
	}
	exp, ttl := any(nil), int64(0)
	if sec.Expires != nil {
		exp, ttl = vaultTime(*sec.Expires), int64(sec.Expires.Sub(sec.Created).Seconds())
	}
	respond(w, http.StatusOK, map[string]any{"secret_id_accessor": sec.Accessor, "creation_time": vaultTime(sec.Created),
		"last_updated_time": vaultTime(sec.Created), "expiration_time": exp, "secret_id_ttl": ttl,
		"secret_id_num_uses": sec.UsesLeft, "metadata": sec.Metadata, "cidr_list": []string{}, "token_bound_cidrs": []string{}}, nil, "approle")
	return nil
}

func (s *Server) approleDestroySecretID(w http.ResponseWriter, r *http.Request, name string, byAccessor bool) error {
	ctx := r.Context()
	value, err := secretIDArg(r, byAccessor)
	if err != nil {
		return err
	}
	role, _, err := s.approleRole(ctx, name)
	if err != nil {
		return err
	}
	if role == nil {
		noContent(w)
		return nil
	}
	path, sec, _, err := s.approleFindSecret(ctx, name, role, value, byAccessor)
	if err != nil {
		return err
	}
	if sec != nil {
		if err := s.st.Delete(ctx, path, role.accessorDir(name)+sec.Accessor); err != nil {
			return err
		}
	}
	noContent(w)
	return nil
}

// secretIDArg reads secret_id (or secret_id_accessor) from the body.
func secretIDArg(r *http.Request, byAccessor bool) (string, error) {
	var body struct {
		SecretID string `json:"secret_id"`
		Accessor string `json:"secret_id_accessor"`
	}
	if err := decodeBody(r, &body); err != nil {
		return "", err
	}
	if byAccessor {
		if body.Accessor == "" {
			return "", badRequest("missing secret_id_accessor")
		}
		return body.Accessor, nil
	}
	if body.SecretID == "" {
		return "", badRequest("missing secret_id")
	}
	return body.SecretID, nil
}

// cmpErr is err, or miss when err is nil.
func cmpErr(err, miss error) error {
	if err != nil {
		return err
	}
	return miss
}

// errInvalidLogin is every failed login's answer, as Vault's: it does not
// tell an unknown role from a wrong, spent or expired secret_id.
var errInvalidLogin = badRequest("invalid role or secret ID")

// approleLogin exchanges a role_id and secret_id for a token with the role's
// policies and limits.
func (s *Server) approleLogin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var body struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.RoleID == "" {
		return badRequest("missing role_id")
	}
	if len(body.SecretID) > maxSecretIDLen {
		return errInvalidLogin
	}
	cfg, err := s.approleEnabled(ctx)
	if err != nil {
		return err
	}
	if cfg == nil {
		return noRoute(approlePrefix + "login")
	}
	name, role, err := s.approleByRoleID(ctx, body.RoleID)
	if err != nil {
		return err
	}
	secretMeta, err := s.approleSpendSecret(ctx, name, role, body.SecretID)
	if err != nil {
		return err
	}
	meta := maps.Clone(secretMeta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["role_name"] = name
	id, t, warnings, err := s.tokens.create(ctx, &Token{}, tokenRequest{Meta: meta, TTL: seconds(role.TokenTTL),
		ExplicitMaxTTL: seconds(role.maxTTL()), NumUses: role.TokenNumUses, Period: seconds(role.TokenPeriod),
		path: approlePrefix + "login", display: "approle", granted: role.loginPolicies()}, true)
	if err != nil {
		return err
	}
	writeEnvelope(w, http.StatusOK, envelope{Auth: authData(id, t), Warnings: warnings, MountType: "approle"})
	return nil
}

// maxTTL is the hard limit of a login's token: this token store has one
// (explicit) maximum, so the lower of token_max_ttl and
// token_explicit_max_ttl that is set.
func (role *approleRole) maxTTL() int64 {
	if role.TokenMaxTTL == 0 || (role.TokenExplicitMaxTTL > 0 && role.TokenExplicitMaxTTL < role.TokenMaxTTL) {
		return role.TokenExplicitMaxTTL
	}
	return role.TokenMaxTTL
}

// seconds is n seconds as a token request gives a duration (nil: unset).
func seconds(n int64) any {
	if n == 0 {
		return nil
	}
	return strconv.FormatInt(n, 10) + "s"
}

// loginPolicies are a login token's policies: the role's, with default
// unless the role says not to (never root: a role cannot hold it).
func (role *approleRole) loginPolicies() []string {
	policies := slices.DeleteFunc(sanitizePolicies(role.TokenPolicies), func(p string) bool { return p == "root" || p == "default" })
	if !role.TokenNoDefaultPolicy {
		policies = append(policies, "default")
	}
	slices.Sort(policies)
	return append([]string{}, policies...)
}

func (s *Server) approleByRoleID(ctx context.Context, roleID string) (string, *approleRole, error) {
	if strings.ContainsAny(roleID, "/\x00") || len(roleID) > 256 {
		return "", nil, errInvalidLogin
	}
	var name string
	rev, err := s.st.GetJSON(ctx, approleRoleIDPath(roleID), &name)
	if err != nil {
		return "", nil, err
	}
	if rev == 0 {
		_, _ = s.secretIDHash(ctx, "") // as long as a known role_id's first step
		return "", nil, errInvalidLogin
	}
	role, _, err := s.approleRole(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if role == nil || role.RoleID != roleID {
		return "", nil, errInvalidLogin
	}
	return name, role, nil
}

// approleSpendSecret checks a secret_id and spends one of its uses with a
// write conditional on the record's revision; the last use deletes it.
func (s *Server) approleSpendSecret(ctx context.Context, name string, role *approleRole, secretID string) (map[string]string, error) {
	for range 8 {
		path, sec, rev, err := s.approleFindSecret(ctx, name, role, secretID, false)
		if err != nil {
			return nil, err
		}
		if sec == nil || sec.expired(time.Now()) || (sec.NumUses > 0 && sec.UsesLeft <= 0) {
			return nil, errInvalidLogin
		}
		if sec.NumUses == 0 {
			return sec.Metadata, nil
		}
		sec.UsesLeft--
		err = s.st.Put(ctx, storage.Write{Path: path, Data: mustJSON(sec), Rev: rev})
		if errors.Is(err, storage.ErrConflict) {
			continue // another login spent a use meanwhile: read it again
		}
		if err != nil {
			return nil, err
		}
		if sec.UsesLeft == 0 {
			_ = s.st.Delete(context.WithoutCancel(ctx), path, role.accessorDir(name)+sec.Accessor)
		}
		return sec.Metadata, nil
	}
	return nil, conflictError("the secret_id")
}

// approleStillThere refuses to renew a login's token whose role is gone, as
// Vault's approle does: deleting a role stops its periodic tokens, also
// when a role of the same name was made again after the login.
func (s *Server) approleStillThere(ctx context.Context, t *Token) error {
	if t.Path != approlePrefix+"login" {
		return nil
	}
	role, _, err := s.approleRole(ctx, t.Meta["role_name"])
	if err != nil {
		return err
	}
	if role == nil || role.Created.After(t.CreationTime) {
		return badRequest("role %q of this AppRole login no longer exists: the token cannot be renewed", t.Meta["role_name"])
	}
	return nil
}
