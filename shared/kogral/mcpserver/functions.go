package mcpserver

import (
	"context"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// Functions is kogral-mcp: Kogral's API with the MCP server at /mcp, for
// the project graph KOGRAL_PROJECT.
func Functions() function.Set { return function.Set{"kogral-mcp": Function} }

// Function is kogral-mcp.
func Function() function.Builder {
	return function.HTTP(apifn.MCPSpec, func(ctx context.Context, d *function.Deps) (*apifn.API, error) {
		return apifn.NewAPIFor(ctx, d, func(b kogral.Backend) http.Handler {
			return Handler(NewServer(b, d.Env("KOGRAL_PROJECT")))
		})
	})
}
