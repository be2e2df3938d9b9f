package cryptofn

import (
	"context"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Functions holds vault-crypto, the vault's only key holder, by catalog name.
var Functions = function.Set{
	"vault-crypto": function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		kms, err := NewKMS(ctx, d.Env("VAULT_UNSEAL_KEY_ARN"), d.Env("AWS_ENDPOINT_URL_KMS"))
		if err != nil {
			return nil, err
		}
		return keeper.Handler(keeper.New(d.Surreal, kms)), nil
	}),
}
