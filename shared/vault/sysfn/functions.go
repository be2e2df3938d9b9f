// Package sysfn wires vault-sys. It is apart from vault-secrets' wiring so
// that each Lambda links only the handlers it serves (the snapshot, HCL and
// compatibility routes are vault-sys's alone).
package sysfn

import (
	"context"
	"os"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault"
)

// Functions is vault-sys, by catalog name.
func Functions() function.Set {
	return function.Set{"vault-sys": Function}
}

// Function is vault-sys.
func Function() function.Builder {
	return function.HTTP(httpapi.Spec[*vault.Server]{Errors: vault.Errors, Ops: []httpapi.Op[*vault.Server]{
		{Method: "ANY", Path: "/v1/sys/{path+}", Summary: "Vault's HTTP API", Mount: (*vault.Server).SysHandler},
	}}, func(ctx context.Context, d *function.Deps) (*vault.Server, error) {
		s, err := vault.NewServer(d.Surreal, d.Invoker)
		if err == nil && os.Getenv("VAULT_INIT_GATED") == "true" {
			// Deployed (infra/stacks): VAULT_INIT_TOKEN comes from VAULT_INIT_SECRET_ARN.
			s.GateInit(os.Getenv("VAULT_INIT_TOKEN"))
		}
		return s, err
	})
}
