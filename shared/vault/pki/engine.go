// Package pki is SecretumVault's PKI engine with OpenBao's API: a root or
// intermediate CA per mount, roles, issue and sign, revocation and a CRL,
// with ML-DSA-65 certificates as an experimental key type. It runs inside
// vault-crypto: CA keys are generated there, stored sealed by the barrier
// and never leave it.
package pki

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

var invalid = engine.Invalid

// Engine serves pki mounts.
type Engine struct{ st *storage.Store }

// New returns a PKI engine over st (sealed by the keeper itself).
func New(st *storage.Store) *Engine { return &Engine{st: st} }

const (
	defaultTTL     = 768 * time.Hour // Vault's default maximum lease TTL
	backdate       = 30 * time.Second
	crlLifetime    = 72 * time.Hour
	maxCommonNames = 100
)

var roleName = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

// mount is one request's view of a mount's storage.
type mount struct {
	e      *Engine
	ctx    context.Context
	prefix string
	route  string        // the request's path below the mount
	f      engine.Fields // the request's body
	p      engine.Params // what the path's pattern captured
	// defTTL and maxTTL are the mount's tuned lease TTLs, 0 where untuned.
	defTTL, maxTTL time.Duration
}

// mountTTL applies the mount's tuned TTLs to a certificate's: its default
// when none was asked, its maximum as a cap (with a warning), as Vault.
func (m mount) mountTTL(ttl time.Duration) (time.Duration, []string) {
	if ttl == 0 && m.defTTL > 0 {
		ttl = m.defTTL
	}
	if ttl == 0 {
		ttl = defaultTTL
	}
	if m.maxTTL > 0 && ttl > m.maxTTL {
		return m.maxTTL, []string{fmt.Sprintf("TTL %q is longer than the mount's max_lease_ttl %q; capping", ttl, m.maxTTL)}
	}
	return ttl, nil
}

func (m mount) path(p string) string { return m.prefix + p }

func (m mount) get(p string, v any) (int, error) { return m.e.st.GetJSON(m.ctx, m.path(p), v) }

func (m mount) put(p string, v any, rev int) error { return m.e.st.PutJSON(m.ctx, m.path(p), v, rev) }

func (m mount) listRoles() (keeper.EngineResponse, error) { return m.list("roles/") }

func (m mount) listCerts() (keeper.EngineResponse, error) { return m.list("certs/") }

func (m mount) list(prefix string) (keeper.EngineResponse, error) {
	return engine.ListKeys(m.ctx, m.e.st, m.path(prefix))
}
