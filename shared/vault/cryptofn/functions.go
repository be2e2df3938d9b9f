package cryptofn

import (
	"context"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/pki"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
	"github.com/stratumiops/stratumiops/shared/vault/transit"
)

// Functions holds vault-crypto, the vault's only key holder, by catalog name.
func Functions() function.Set {
	return function.Set{"vault-crypto": Function}
}

// Function is vault-crypto.
func Function() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		kms, err := NewKMS(ctx, d.Env("VAULT_UNSEAL_KEY_ARN"), d.Env("AWS_ENDPOINT_URL_KMS"))
		if err != nil {
			return nil, err
		}
		return NewHandler(d.Surreal, kms), nil
	})
}

// NewHandler is vault-crypto: the keeper and the engines whose keys it holds.
func NewHandler(db *surreal.Client, kms keeper.Wrapper) invoke.Handler {
	k := keeper.New(db, kms)
	st := &storage.Store{DB: db, Crypto: k}
	return keeper.Handler(k, map[string]keeper.Engine{"transit": transit.New(st), "pki": pki.New(st)})
}
