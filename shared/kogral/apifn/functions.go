// Package apifn is kogral-api: Kogral's HTTP API, every operation authorized
// by schemas/cedar/kogral for its caller.
package apifn

import (
	"context"
	"net/http"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/exportjob"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// New is the API over b: auth authenticates each request (nil: none, for
// tests), mcp is served at /mcp when not nil.
func New(b kogral.Backend, auth *principal.Authenticator, mcp http.Handler) *API {
	return &API{backend: b, auth: auth, mcp: mcp}
}

// accessFor is the store as the API and the MCP server serve it: every
// operation authorized by schemas/cedar/kogral for the request's caller.
func accessFor(ctx context.Context, d *function.Deps) (*Access, error) {
	s, err := kogral.StoreFor(ctx, d)
	if err != nil {
		return nil, err
	}
	engine, err := authz.Load(schemas.Cedar, "cedar/kogral")
	if err != nil {
		return nil, err
	}
	return NewAccess(s, engine), nil
}

// NewAPIFor is the API kogral-api serves and, with an MCP server made by
// mcp over the authorized backend, the one kogral-mcp serves.
func NewAPIFor(ctx context.Context, d *function.Deps, mcp func(kogral.Backend) http.Handler) (*API, error) {
	s, err := accessFor(ctx, d)
	if err != nil {
		return nil, err
	}
	auth, err := d.Authenticator()
	if err != nil {
		return nil, err
	}
	a := &API{backend: s, auth: auth}
	if d.Bus != nil { // kogral-api: export jobs, run by kogral-export
		a.WithExports(s, exportjob.NewStore(d.Surreal), d.Bus)
	}
	if mcp != nil {
		a.mcp = mcp(s)
	}
	return a, nil
}

// Functions is kogral-api. kogral-mcp (package mcpserver),
// kogral-on-execution (package execution) and kogral-export (package
// exportjob) live apart so that each Lambda
// links only what it runs.
func Functions() function.Set { return function.Set{"kogral-api": Function} }

// Function is kogral-api.
func Function() function.Builder {
	return function.HTTP(APISpec(), func(ctx context.Context, d *function.Deps) (*API, error) {
		return NewAPIFor(ctx, d, nil)
	})
}
