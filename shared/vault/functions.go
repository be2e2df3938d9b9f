package vault

import (
	"context"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// Functions are SecretumVault's HTTP functions, by catalog name; vault-crypto
// has its own set (cryptofn.Functions) so that neither links the other's code.
var Functions = function.Set{
	"vault-sys": function.HTTP(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		s, err := NewServer(d.Surreal, d.Invoker)
		if err != nil {
			return nil, err
		}
		d.Errors = WriteError
		return s.SysHandler(), nil
	}),
	"vault-secrets": function.HTTP(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		s, err := NewServer(d.Surreal, d.Invoker)
		if err != nil {
			return nil, err
		}
		d.Errors = WriteError
		return s.SecretsHandler(), nil
	}),
}
