// Package secretsfn wires vault-secrets, apart from vault-sys (see sysfn).
package secretsfn

import (
	"context"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/vault"
)

// Functions is vault-secrets, by catalog name.
var Functions = function.Set{
	"vault-secrets": function.HTTP(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		s, err := vault.NewServer(d.Surreal, d.Invoker)
		if err != nil {
			return nil, err
		}
		d.Errors = vault.WriteError
		return s.SecretsHandler(), nil
	}),
}
