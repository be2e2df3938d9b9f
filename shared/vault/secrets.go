package vault

import (
	"errors"
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/kv"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// SecretsHandler serves /v1/auth/token/* and /v1/<mount>/* (the vault-secrets
// function). The KV engine is built here, so that vault-sys does not link it.
func (s *Server) SecretsHandler() http.Handler {
	s.kv = kv.New(s.st)
	return s.handler("/v1/", s.secrets)
}

func (s *Server) secrets(w http.ResponseWriter, r *http.Request, path string) error {
	if strings.HasPrefix(path, "auth/token/") {
		return s.token(w, r, strings.TrimPrefix(path, "auth/token/"))
	}
	if strings.HasPrefix(path, approlePrefix) {
		return s.approle(w, r, strings.TrimPrefix(path, approlePrefix))
	}
	ctx := r.Context()
	m, rest, ok, err := s.mounts.find(ctx, path)
	if err != nil {
		return err
	}
	if ok && m.Type == "pki" && r.Method == http.MethodGet && !isList(r) && engine.PublicPKIPath(rest) {
		return s.serveEngine(ctx, w, r, m, rest, nil, func(string) error { return nil })
	}
	// Authenticate before saying a path is unknown: to a caller without a
	// valid token an unknown path looks no different from a forbidden one.
	token, err := s.tokens.authenticate(ctx, r)
	if err != nil {
		return err
	}
	if !ok {
		e := *errNotFound
		e.Message = "no handler for route \"" + path + "\". route entry not found."
		return &e
	}
	auth := func(capability string) error {
		return s.policies.authorize(ctx, r, token, capability, path, m.Path)
	}
	if s.backend(m.Type) != nil {
		return s.serveEngine(ctx, w, r, m, rest, token, auth)
	}
	return s.serveKV(ctx, w, r, m, rest, auth)
}

// token serves the token store's endpoints.
func (s *Server) token(w http.ResponseWriter, r *http.Request, op string) error {
	ctx := r.Context()
	if r.Method == http.MethodPatch {
		return errUnsupported // PATCH is for KV v2 data and metadata only
	}
	caller, err := s.tokens.authenticate(ctx, r)
	if err != nil {
		return err
	}
	self := strings.HasSuffix(op, "-self")
	if !self {
		if err := s.policies.authorize(ctx, r, caller, capabilityOf(r), "auth/token/"+op, "auth/token/"); err != nil {
			return err
		}
	}
	var body tokenBody
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := decodeBody(r, &body); err != nil {
			return err
		}
	}
	switch {
	case op == "create" || op == "create-orphan":
		return s.tokenCreate(w, r, caller, op, body)
	case op == "lookup-self" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		respond(w, http.StatusOK, lookupData(caller, requestToken(r)), nil, "token")
		return nil
	case op == "lookup" && (r.Method == http.MethodPost || r.Method == http.MethodGet):
		return s.tokenLookup(w, r, body)
	case op == "lookup-accessor":
		t, err := s.tokens.byAccessor(ctx, body.Accessor)
		if err != nil {
			return err
		}
		if t == nil {
			return badRequest("invalid accessor")
		}
		respond(w, http.StatusOK, lookupData(t, ""), nil, "token")
		return nil
	case op == "renew" || op == "renew-self":
		return s.tokenRenew(w, r, caller, op, body)
	case op == "revoke" || op == "revoke-self" || op == "revoke-orphan" || op == "revoke-accessor":
		return s.tokenRevoke(w, r, caller, op, body)
	}
	return errUnsupported
}

// tokenBody is what the auth/token/ paths read from a request body.
type tokenBody struct {
	tokenRequest
	Token     string `json:"token"`
	Accessor  string `json:"accessor"`
	Increment any    `json:"increment"`
}

// tokenCreate is auth/token/create and create-orphan: orphans, periodic
// tokens and metadata the parent lacks take root or sudo, as in Vault.
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request, caller *Token, op string, body tokenBody) error {
	ctx := r.Context()
	orphan := op == "create-orphan"
	if (orphan || body.NoParent) && !caller.isRoot() {
		if err := s.policies.authorize(ctx, r, caller, capSudo, "auth/token/create-orphan", "auth/token/"); err != nil {
			return err
		}
	}
	if p, _ := parseDuration(body.Period); p > 0 && !caller.isRoot() {
		// As Vault: a periodic token takes root or sudo on the create path.
		if err := s.policies.authorize(ctx, r, caller, capSudo, "auth/token/"+op, "auth/token/"); err != nil {
			return err
		}
	}
	if keys := metaBeyondParent(caller, body.Meta); len(keys) > 0 && !caller.isRoot() {
		if err := s.policies.authorize(ctx, r, caller, capSudo, "auth/token/"+op, "auth/token/"); err != nil {
			if errors.Is(err, errPermissionDenied) {
				return httpapi.Errorf(http.StatusForbidden, "permission_denied",
					"permission denied: setting token metadata the parent token does not have (%s) takes sudo on auth/token/%s", strings.Join(keys, ", "), op)
			}
			return err
		}
	}
	id, t, warnings, err := s.tokens.create(ctx, caller, body.tokenRequest, orphan)
	if err != nil {
		return err
	}
	writeEnvelope(w, http.StatusOK, envelope{Auth: authData(id, t), Warnings: warnings, MountType: "token"})
	return nil
}

// tokenLookup is auth/token/lookup: the token from the body or the query.
func (s *Server) tokenLookup(w http.ResponseWriter, r *http.Request, body tokenBody) error {
	ctx := r.Context()
	if body.Token == "" {
		body.Token = r.URL.Query().Get("token")
	}
	t, err := s.tokens.lookup(ctx, body.Token)
	if err != nil {
		return err
	}
	if t == nil {
		return errBadToken // Vault: 403 "bad token"
	}
	respond(w, http.StatusOK, lookupData(t, body.Token), nil, "token")
	return nil
}

// tokenRenew is auth/token/renew and renew-self.
func (s *Server) tokenRenew(w http.ResponseWriter, r *http.Request, caller *Token, op string, body tokenBody) error {
	ctx := r.Context()
	var err error
	target, id := caller, requestToken(r)
	if op == "renew" {
		if target, err = s.tokens.lookup(ctx, body.Token); err != nil {
			return err
		}
		if target == nil {
			return badRequest("bad token")
		}
		id = body.Token
	}
	inc, err := parseDuration(body.Increment)
	if err != nil {
		return badRequest("invalid 'increment': %v", err)
	}
	if err := s.approleStillThere(ctx, target); err != nil {
		return err
	}
	t, err := s.tokens.renew(ctx, target, inc)
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, nil, authData(id, t), "token")
	return nil
}

// tokenRevoke is auth/token/revoke, revoke-self, revoke-orphan and
// revoke-accessor: the token and, but for revoke-orphan, its children, with
// their leases.
func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, caller *Token, op string, body tokenBody) error {
	ctx := r.Context()
	var err error
	target := caller
	if op == "revoke-orphan" && !caller.isRoot() {
		// As Vault: leaving a token's children behind takes root or sudo.
		if err := s.policies.authorize(ctx, r, caller, capSudo, "auth/token/revoke-orphan", "auth/token/"); err != nil {
			return err
		}
	}
	switch op {
	case "revoke", "revoke-orphan":
		if target, err = s.tokens.lookup(ctx, body.Token); err != nil {
			return err
		}
	case "revoke-accessor":
		if target, err = s.tokens.byAccessor(ctx, body.Accessor); err != nil {
			return err
		}
	}
	if target != nil {
		var revoked []string
		if op == "revoke-orphan" {
			revoked, err = s.tokens.revokeOrphan(ctx, target)
		} else {
			revoked, err = s.tokens.revoke(ctx, target)
		}
		if err != nil {
			return err
		}
		s.revokeLeasesOf(ctx, revoked)
		storage.Settle(ctx) // no instance still accepts the token when the caller hears it is revoked
	}
	noContent(w)
	return nil
}
