package kogral

import (
	"context"

	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// StoreFor is the graph store over the function's SurrealDB, with the
// embedder its environment picks (embed.FromEnv).
func StoreFor(ctx context.Context, d *function.Deps) (*Store, error) {
	e, err := embed.FromEnv(ctx, d.Env)
	if err != nil {
		return nil, err
	}
	return NewStore(d.Surreal, e), nil
}
