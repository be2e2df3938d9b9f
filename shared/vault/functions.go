package vault

import (
	"context"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Functions are SecretumVault's functions, by catalog name.
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
	"vault-crypto": function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		kms, err := keeper.NewKMS(ctx, d.Env("VAULT_UNSEAL_KEY_ARN"), d.Env("AWS_ENDPOINT_URL_KMS"))
		if err != nil {
			return nil, err
		}
		return keeper.Handler(keeper.New(d.Surreal, kms)), nil
	}),
}
