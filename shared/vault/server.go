package vault

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/auditlog"
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/kv"
	"github.com/stratumiops/stratumiops/shared/vault/leases"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// CryptoFunction is the catalog name of the function that holds the keys.
const CryptoFunction = "vault-crypto"

// Server serves the vault API over SurrealDB and vault-crypto.
type Server struct {
	crypto   *keeper.Client
	leases   *leases.Client
	st       *storage.Store
	kv       *kv.Engine // built by SecretsHandler
	tokens   *tokens
	policies *policies
	mounts   *mounts
	audit    *audit
	opts     httpapi.Options
	sysPaths engine.Paths[sysHandler] // built by SysHandler
	// initToken, when set, is what PUT sys/init must present (GateInit).
	initToken *string
	// snapshots keeps the last unsealed snapshot for storage.ReadTTL.
	snapshots storage.Recent[struct{}, *snapshot]
	// recordsDoneAt is when this instance last saw the one-time re-MAC
	// done (unix ns): for a minute after, an unseal call, which anyone may
	// make, costs no vault-crypto and KMS round trip to ask again. Not for
	// good: a restored older keyring makes it due again.
	recordsDoneAt atomic.Int64
}

// NewServer builds the vault API; inv reaches vault-crypto.
func NewServer(db *surreal.Client, inv invoke.Invoker) (*Server, error) {
	crypto := &keeper.Client{Invoker: inv, Function: CryptoFunction}
	pols, err := newPolicies(db)
	if err != nil {
		return nil, err
	}
	st := &storage.Store{DB: db, Crypto: crypto}
	keys := &integrity.Keys{Crypto: crypto}
	pols.keys = keys
	return &Server{crypto: crypto, leases: &leases.Client{Invoker: inv}, st: st, tokens: &tokens{db: db, crypto: crypto, keys: keys},
		policies: pols, mounts: &mounts{db: db, keys: keys},
		audit: &audit{db: db, crypto: crypto, log: auditlog.NewAppender(db, 64), anchor: &auditlog.Client{Invoker: inv}},
		opts:  httpapi.Options{Errors: WriteError}}, nil
}

// handler routes everything under prefix to route, which returns its error.
func (s *Server) handler(prefix string, route func(w http.ResponseWriter, r *http.Request, path string) error) http.Handler {
	return s.auditWrap(s.opts.Handle(func(w http.ResponseWriter, r *http.Request) error {
		path := strings.TrimPrefix(r.URL.Path, prefix)
		if path == r.URL.Path || strings.Contains(path, "..") {
			return errNotFound
		}
		return route(w, r, strings.TrimSuffix(path, "/"))
	}))
}

// capabilityOf maps a request's method to the capability it needs.
func capabilityOf(r *http.Request) string {
	switch {
	case isList(r):
		return capList
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return capRead
	case r.Method == http.MethodDelete:
		return capDelete
	case r.Method == http.MethodPatch:
		return capPatch
	}
	return capUpdate
}

// authorized authenticates the request and checks capability on path.
func (s *Server) authorized(ctx context.Context, r *http.Request, capability, path, mount string) (*Token, error) {
	t, err := s.tokens.authenticate(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := s.policies.authorize(ctx, r, t, capability, path, mount); err != nil {
		return nil, err
	}
	return t, nil
}

func now() time.Time { return time.Now().UTC() }
