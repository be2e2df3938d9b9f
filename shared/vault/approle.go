package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// AppRole is Vault's approle auth method, for machines: a role names the
// policies and limits of the tokens it issues; a login presents the role's
// role_id and one of its secret_ids. It is enabled at auth/approle/ only
// (`vault auth enable approle`). Everything lives in barrier-sealed storage
// entries under approlePrefix; a secret_id is kept only as its keyed hash,
// and a limited one is spent with a conditional write, so two instances
// cannot both use its last use.
const approlePrefix = "auth/approle/"

// approleConfig marks the method enabled, as sys/auth lists it.
type approleConfig struct {
	Accessor    string `json:"accessor"`
	UUID        string `json:"uuid"`
	Description string `json:"description"`
}

// approleRole is a role's settings, with Vault's field names.
type approleRole struct {
	RoleID               string   `json:"role_id"`
	BindSecretID         bool     `json:"bind_secret_id"`
	SecretIDTTL          int64    `json:"secret_id_ttl"`
	SecretIDNumUses      int      `json:"secret_id_num_uses"`
	TokenPolicies        []string `json:"token_policies"`
	TokenTTL             int64    `json:"token_ttl"`
	TokenMaxTTL          int64    `json:"token_max_ttl"`
	TokenExplicitMaxTTL  int64    `json:"token_explicit_max_ttl"`
	TokenNumUses         int      `json:"token_num_uses"`
	TokenPeriod          int64    `json:"token_period"`
	TokenNoDefaultPolicy bool     `json:"token_no_default_policy"`
	// SecretIDPrefix is random per role: its secret_ids live under it, so
	// a role deleted and made again under the same name does not accept
	// the old role's (nor one issued while it was being deleted).
	SecretIDPrefix string `json:"secret_id_prefix"`
	// Created is when the role was made: a token from a login to a role of
	// the same name deleted before it does not renew (zero on roles stored
	// before it was kept).
	Created time.Time `json:"created,omitzero"`
}

// maxRolePolicies and the metadata limits bound what a role or secret_id holds.
const (
	maxRolePolicies  = 64
	maxSecretMeta    = 32
	maxSecretMetaLen = 512
	maxSecretIDLen   = 256
)

var roleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func approleConfigPath() string          { return approlePrefix + "config" }
func approleRolePath(name string) string { return approlePrefix + "role/" + strings.ToLower(name) }
func approleRoleIDPath(id string) string { return approlePrefix + "role-id/" + id }
func approleSecretRoot(name string) string {
	return approlePrefix + "secret-id/" + strings.ToLower(name) + "/"
}
func approleAccessorRoot(name string) string {
	return approlePrefix + "accessor/" + strings.ToLower(name) + "/"
}

// secretDir and accessorDir are where the role's secret_ids and their
// accessors are kept.
func (role *approleRole) secretDir(name string) string {
	return approleSecretRoot(name) + role.SecretIDPrefix + "/"
}
func (role *approleRole) accessorDir(name string) string {
	return approleAccessorRoot(name) + role.SecretIDPrefix + "/"
}

// approleEnabled reads the method's configuration (nil: not enabled).
func (s *Server) approleEnabled(ctx context.Context) (*approleConfig, error) {
	var cfg approleConfig
	rev, err := s.st.GetJSON(ctx, approleConfigPath(), &cfg)
	if err != nil || rev == 0 {
		return nil, err
	}
	return &cfg, nil
}

// approle serves auth/approle/<rest>: login for anyone, the rest for
// tokens whose policies allow the path, as Vault's ACLs decide.
func (s *Server) approle(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	if sealedNow(ctx) {
		return errSealed
	}
	if rest == "login" && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		return s.approleLogin(w, r)
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) >= 2 && parts[0] == "role" { // role names are case-insensitive: decide on the stored name
		parts[1] = strings.ToLower(parts[1])
		rest = strings.Join(parts, "/")
	}
	capability, err := s.approleCapability(ctx, r, parts)
	if err != nil {
		return err
	}
	caller, err := s.authorized(ctx, r, capability, approlePrefix+rest, approlePrefix)
	if err != nil {
		return err
	}
	cfg, err := s.approleEnabled(ctx)
	if err != nil {
		return err
	}
	if cfg == nil {
		return noRoute(approlePrefix + rest)
	}
	r = r.WithContext(withCaller(ctx, caller))
	switch {
	case rest == "role" && isList(r):
		return s.approleListRoles(w, r)
	case rest == "tidy/secret-id" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return s.approleTidy(w, r)
	case len(parts) >= 2 && parts[0] == "role" && roleName.MatchString(parts[1]):
		return s.approleRoleOp(w, r, parts[1], strings.Join(parts[2:], "/"))
	}
	return noRoute(approlePrefix + rest)
}

// approleCapability is the capability a request needs: writing a role that
// does not exist yet takes create, as Vault's existence check decides.
func (s *Server) approleCapability(ctx context.Context, r *http.Request, parts []string) (string, error) {
	capability := capabilityOf(r)
	if capability != capUpdate || len(parts) != 2 || parts[0] != "role" || !roleName.MatchString(parts[1]) {
		return capability, nil
	}
	role, _, err := s.approleRole(ctx, parts[1])
	if err != nil {
		return "", err
	}
	if role == nil {
		return capCreate, nil
	}
	return capUpdate, nil
}

type callerKey struct{}

func withCaller(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, callerKey{}, t)
}

// callerOf is the token a request was authorized with (nil: none).
func callerOf(ctx context.Context) *Token {
	t, _ := ctx.Value(callerKey{}).(*Token)
	return t
}

// noRoute is Vault's answer for a path nothing serves.
func noRoute(path string) error {
	e := *errNotFound
	e.Message = "no handler for route \"" + path + "\". route entry not found."
	return &e
}

func (s *Server) approleRoleOp(w http.ResponseWriter, r *http.Request, name, op string) error {
	post := r.Method == http.MethodPost || r.Method == http.MethodPut
	switch {
	case op == "" && r.Method == http.MethodGet && !isList(r):
		return s.approleReadRole(w, r, name)
	case op == "" && post:
		return s.approleWriteRole(w, r, name)
	case op == "" && r.Method == http.MethodDelete:
		return s.approleDeleteRole(w, r, name)
	case op == "role-id" && r.Method == http.MethodGet:
		return s.approleReadRoleID(w, r, name)
	case op == "role-id" && post:
		return s.approleWriteRoleID(w, r, name)
	case op == "secret-id" && post:
		return s.approleNewSecretID(w, r, name)
	case op == "secret-id" && isList(r):
		return s.approleListSecretIDs(w, r, name)
	case (op == "secret-id/lookup" || op == "secret-id-accessor/lookup") && post:
		return s.approleLookupSecretID(w, r, name, op == "secret-id-accessor/lookup")
	case (op == "secret-id/destroy" || op == "secret-id-accessor/destroy") && (post || r.Method == http.MethodDelete):
		return s.approleDestroySecretID(w, r, name, op == "secret-id-accessor/destroy")
	}
	return noRoute(approlePrefix + "role/" + name + "/" + op)
}

func (s *Server) approleRole(ctx context.Context, name string) (*approleRole, int, error) {
	var role approleRole
	rev, err := s.st.GetJSON(ctx, approleRolePath(name), &role)
	if err != nil || rev == 0 {
		return nil, rev, err
	}
	return &role, rev, nil
}

func (s *Server) approleListRoles(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.st.List(r.Context(), approlePrefix+"role/")
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errNotFound
	}
	respond(w, http.StatusOK, map[string]any{"keys": keys}, nil, "approle")
	return nil
}

func (s *Server) approleReadRole(w http.ResponseWriter, r *http.Request, name string) error {
	role, _, err := s.approleRole(r.Context(), name)
	if err != nil {
		return err
	}
	if role == nil {
		return errNotFound
	}
	respond(w, http.StatusOK, map[string]any{
		"bind_secret_id": role.BindSecretID, "secret_id_ttl": role.SecretIDTTL, "secret_id_num_uses": role.SecretIDNumUses,
		"token_policies": role.TokenPolicies, "token_ttl": role.TokenTTL, "token_max_ttl": role.TokenMaxTTL,
		"token_explicit_max_ttl": role.TokenExplicitMaxTTL, "token_num_uses": role.TokenNumUses, "token_period": role.TokenPeriod,
		"token_no_default_policy": role.TokenNoDefaultPolicy, "token_type": "default", "token_strictly_bind_ip": false,
		"secret_id_bound_cidrs": []string{}, "token_bound_cidrs": []string{}, "local_secret_ids": false,
	}, nil, "approle")
	return nil
}

// approleWriteRole creates a role or changes the fields the body names,
// as Vault does; a new role gets a random role_id.
func (s *Server) approleWriteRole(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	var body engine.Fields
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	for range 8 {
		role, rev, err := s.approleRole(ctx, name)
		if err != nil {
			return err
		}
		fresh := role == nil
		if fresh {
			role = &approleRole{RoleID: keeper.NewUUID(), BindSecretID: true, SecretIDPrefix: keeper.NewUUID(), Created: time.Now().UTC()}
		}
		oldID := role.RoleID
		if err := role.apply(body); err != nil {
			return err
		}
		if err := roleIDFrom(body, role); err != nil {
			return err
		}
		writes := []storage.Write{{Path: approleRolePath(name), Data: mustJSON(role), Rev: rev}}
		if fresh || role.RoleID != oldID { // the new role_id's index entry: created only if absent
			writes = append(writes, storage.Write{Path: approleRoleIDPath(role.RoleID), Data: mustJSON(strings.ToLower(name))})
		}
		if !fresh && role.RoleID != oldID { // and the old one's goes in the same transaction
			writes = append(writes, storage.Write{Path: approleRoleIDPath(oldID), Remove: true})
		}
		err = s.st.Put(ctx, writes...)
		if errors.Is(err, storage.ErrConflict) && role.RoleID != oldID {
			return badRequest("role_id is in use by another role, or the role changed meanwhile; try again")
		}
		if errors.Is(err, storage.ErrConflict) && fresh {
			// Authorized to create it; someone else did meanwhile.
			return conflictError("role " + name + " (created meanwhile)")
		}
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		noContent(w)
		return nil
	}
	return conflictError("role " + name)
}

// approleDeleteRole deletes the role with its role_id's index entry, in one
// transaction that holds only if the role is still as read: a role_id
// changed meanwhile cannot leave its new entry behind.
func (s *Server) approleDeleteRole(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	for tries := 0; ; tries++ {
		role, rev, err := s.approleRole(ctx, name)
		if err != nil {
			return err
		}
		if role == nil {
			break
		}
		err = s.st.Put(ctx, storage.Write{Path: approleRolePath(name), Rev: rev, Remove: true},
			storage.Write{Path: approleRoleIDPath(role.RoleID), Remove: true})
		if err == nil {
			break
		}
		if !errors.Is(err, storage.ErrConflict) {
			return err
		}
		if tries == 7 {
			return conflictError("role " + name)
		}
	}
	// Always, so that a delete retried after a failure finishes the job.
	for _, dir := range []string{approleSecretRoot(name), approleAccessorRoot(name)} {
		if err := s.st.DeletePrefix(ctx, dir); err != nil {
			return err
		}
	}
	noContent(w)
	return nil
}

func (s *Server) approleReadRoleID(w http.ResponseWriter, r *http.Request, name string) error {
	role, _, err := s.approleRole(r.Context(), name)
	if err != nil {
		return err
	}
	if role == nil {
		return errNotFound
	}
	respond(w, http.StatusOK, map[string]any{"role_id": role.RoleID}, nil, "approle")
	return nil
}

// approleWriteRoleID sets a role's role_id; one in use by another role is
// refused (its index entry exists), in the same transaction as the change.
func (s *Server) approleWriteRoleID(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	var body struct {
		RoleID string `json:"role_id"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.RoleID = strings.TrimSpace(body.RoleID); !validRoleID(body.RoleID) {
		return badRequest("missing or invalid role_id (1–256 characters, no '/')")
	}
	role, rev, err := s.approleRole(ctx, name)
	if err != nil {
		return err
	}
	if role == nil {
		return badRequest("role %q does not exist", name)
	}
	if body.RoleID == role.RoleID {
		noContent(w)
		return nil
	}
	old := role.RoleID
	role.RoleID = body.RoleID
	err = s.st.Put(ctx, storage.Write{Path: approleRolePath(name), Data: mustJSON(role), Rev: rev},
		storage.Write{Path: approleRoleIDPath(body.RoleID), Data: mustJSON(strings.ToLower(name))})
	if errors.Is(err, storage.ErrConflict) {
		return badRequest("role_id is in use, or the role changed meanwhile; try again")
	}
	if err != nil {
		return err
	}
	if err := s.st.Delete(ctx, approleRoleIDPath(old)); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// apply sets the fields body names, refusing what this vault does not do.
// Values are read as Vault's CLI sends them too (numbers and booleans as
// strings, lists as comma-separated strings): engine.Fields.
func (role *approleRole) apply(body engine.Fields) error {
	for _, f := range []string{"secret_id_bound_cidrs", "token_bound_cidrs", "bound_cidr_list"} {
		if cidrs, err := body.Strings(f); err != nil || len(cidrs) > 0 {
			return badRequest("%s is not supported: this vault does not bind AppRole logins to addresses", f)
		}
	}
	if t, err := body.String("token_type"); err != nil || (t != "" && t != "default" && t != "service") {
		return badRequest("token_type %v is not supported; only service tokens", body["token_type"])
	}
	if err := role.applyValues(body); err != nil {
		return badRequest("%v", err)
	}
	switch {
	case slices.Contains(role.TokenPolicies, "root"):
		return badRequest("the root policy cannot be given by an AppRole")
	case len(role.TokenPolicies) > maxRolePolicies:
		return badRequest("%d token_policies; at most %d", len(role.TokenPolicies), maxRolePolicies)
	case !role.BindSecretID:
		// Vault then requires an address binding, which this vault does not
		// have: the role_id alone would be the credential.
		return badRequest("bind_secret_id=false is not supported: a login needs a secret_id (address bindings are not supported)")
	case role.TokenMaxTTL > 0 && role.TokenTTL > role.TokenMaxTTL:
		return badRequest("token_ttl %ds cannot be greater than token_max_ttl %ds", role.TokenTTL, role.TokenMaxTTL)
	}
	return nil
}

// applyValues sets the durations, counts, switches and policies body names.
func (role *approleRole) applyValues(body engine.Fields) error {
	for f, dst := range map[string]*int64{"secret_id_ttl": &role.SecretIDTTL, "token_ttl": &role.TokenTTL,
		"token_max_ttl": &role.TokenMaxTTL, "token_explicit_max_ttl": &role.TokenExplicitMaxTTL,
		"token_period": &role.TokenPeriod, "period": &role.TokenPeriod} {
		if d, err := body.Duration(f); err != nil {
			return err
		} else if body.Has(f) {
			*dst = int64(d / time.Second)
		}
	}
	for f, dst := range map[string]*int{"secret_id_num_uses": &role.SecretIDNumUses, "token_num_uses": &role.TokenNumUses} {
		n, err := body.Int(f)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid %s %v: want a whole number, 0 for unlimited", f, body[f])
		}
		if body.Has(f) {
			*dst = n
		}
	}
	for f, dst := range map[string]*bool{"bind_secret_id": &role.BindSecretID, "token_no_default_policy": &role.TokenNoDefaultPolicy} {
		if b, err := body.Bool(f); err != nil {
			return err
		} else if body.Has(f) {
			*dst = b
		}
	}
	for _, f := range []string{"policies", "token_policies"} {
		if list, err := body.Strings(f); err != nil {
			return err
		} else if body.Has(f) {
			role.TokenPolicies = sanitizePolicies(list)
		}
	}
	return nil
}

// roleIDFrom sets role's role_id from a role write's body, as Vault lets a
// role be created or changed with one.
func roleIDFrom(body engine.Fields, role *approleRole) error {
	id, err := body.String("role_id")
	if err != nil || (body.Has("role_id") && id != "" && !validRoleID(id)) {
		return badRequest("invalid role_id %v: 1–256 characters, no '/'", body["role_id"])
	}
	if id != "" {
		role.RoleID = id
	}
	return nil
}

func validRoleID(id string) bool {
	return id != "" && strings.TrimSpace(id) == id && len(id) <= 256 && !strings.ContainsAny(id, "/\x00")
}

// rawValue is raw decoded as any (a number or a string).
func rawValue(raw json.RawMessage) any {
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

func emptyJSON(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "null" || s == `""` || s == "[]"
}

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // only our own plain types reach here
	}
	return raw
}

// conflictError is a write that kept losing to concurrent ones.
func conflictError(what string) error {
	return httpapi.Errorf(http.StatusConflict, "conflict", "concurrent updates of %s; retry", what)
}
