package database

import (
	"context"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Functions holds vault-database, by catalog name. It reaches vault-crypto to
// seal and open what it stores.
func Functions() function.Set {
	return function.Set{"vault-database": Function}
}

// Function is vault-database.
func Function() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		crypto := &keeper.Client{Invoker: d.Invoker, Function: "vault-crypto"}
		e := New(d.Surreal, &storage.Store{DB: d.Surreal, Crypto: crypto}, &integrity.Keys{Crypto: crypto})
		return e.Handler(d.Log), nil
	})
}
