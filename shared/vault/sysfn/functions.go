// Package sysfn wires vault-sys. It is apart from vault-secrets' wiring so
// that each Lambda links only the handlers it serves (the snapshot, HCL and
// compatibility routes are vault-sys's alone).
package sysfn

import (
	"context"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/vault"
)

// Functions is vault-sys, by catalog name.
var Functions = function.Set{
	"vault-sys": function.HTTP(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		s, err := vault.NewServer(d.Surreal, d.Invoker)
		if err != nil {
			return nil, err
		}
		d.Errors = vault.WriteError
		return s.SysHandler(), nil
	}),
}
