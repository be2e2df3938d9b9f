// Package secretsfn wires vault-secrets, apart from vault-sys (see sysfn).
package secretsfn

import (
	"context"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault"
)

// Functions is vault-secrets, by catalog name.
func Functions() function.Set {
	return function.Set{"vault-secrets": Function}
}

// Function is vault-secrets.
func Function() function.Builder {
	return function.HTTP(httpapi.Spec[*vault.Server]{Errors: vault.Errors, Ops: []httpapi.Op[*vault.Server]{
		{Method: "ANY", Path: "/v1/{path+}", Summary: "Vault's HTTP API", Mount: (*vault.Server).SecretsHandler},
	}}, func(ctx context.Context, d *function.Deps) (*vault.Server, error) {
		return vault.NewServer(d.Surreal, d.Invoker)
	})
}
