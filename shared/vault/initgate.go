package vault

import (
	"crypto/subtle"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// InitTokenHeader carries the deployment's init token on PUT sys/init when
// the init gate is on (GateInit).
const InitTokenHeader = "X-Stratum-Init-Token"

// GateInit makes PUT sys/init require token in InitTokenHeader. A deployed
// vault comes up uninitialised behind a public API: without the gate, whoever
// calls sys/init first holds the unseal keys and the root token. In AWS the
// deploy generates the token into a secret (stratum/vault-init) that only
// vault-sys and the operator read; the devstack leaves the gate off. An empty
// token keeps sys/init closed (a gated deployment whose secret is missing).
func (s *Server) GateInit(token string) { s.initToken = &token }

// checkInitGate refuses an init without the deployment's token.
func (s *Server) checkInitGate(r *http.Request) error {
	if s.initToken == nil {
		return nil
	}
	if *s.initToken == "" {
		return httpapi.Errorf(http.StatusServiceUnavailable, "init_gate",
			"sys/init is gated but this deployment has no init token (VAULT_INIT_TOKEN from the stratum/vault-init secret)")
	}
	got := r.Header.Get(InitTokenHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(*s.initToken)) != 1 {
		return httpapi.Errorf(http.StatusForbidden, "permission_denied",
			"sys/init needs the deployment's init token in the "+InitTokenHeader+" header (the token field of the stratum/vault-init secret)")
	}
	return nil
}
