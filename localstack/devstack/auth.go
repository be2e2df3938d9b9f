package devstack

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// Development credentials for the functions that authenticate callers
// (catalog Auth). Deployed stacks take theirs from Secrets Manager; these
// are printed by `stratum dev` and never leave the devstack. The
// environment (API_JWT_SECRET, API_KEYS) overrides them.
const (
	DevJWTSecret = "stratum-devstack-jwt-secret-not-for-production"
	DevAPIKey    = "stratum-dev-key"
	// DevKnowledgeKey is the Kogral service key of vapora-knowledge and vapora-agent-runner: it reads
	// every graph (scope kogral-reader) and the function picks the caller's.
	DevKnowledgeKey = "stratum-dev-knowledge-key"
)

// DevAPIKeyScopes are the dev key's scopes: the demo tenant, managing agents,
// configuring the LLM router and registering TypeDialog forms (so the
// README's examples work with it).
var DevAPIKeyScopes = []string{"demo", "agents", "llm", "forms"}

// DevKogralProject is the project graph of the devstack's Kogral MCP server:
// the dev key's tenant, so that its tools and resources work with that key
// (a graph belongs to the scope its name starts with).
const DevKogralProject = "demo"

// checkAuth refuses authentication settings the functions would refuse
// (an API_KEYS override naming a scope with '.', say) before anything starts,
// with the reason.
func checkAuth() error {
	vars := authVars()
	if _, err := principal.New(principal.Config{JWTSecret: vars["API_JWT_SECRET"], APIKeys: vars["API_KEYS"]}.ForSystem("devstack")); err != nil {
		return fmt.Errorf("devstack credentials (API_JWT_SECRET, API_KEYS): %w", err)
	}
	return nil
}

// authVars are the authentication settings the devstack gives functions
// (and the MCP server's project graph, which only they read).
func authVars() map[string]string {
	keys, _ := json.Marshal([]principal.APIKey{{Name: "dev", KeySHA256: principal.HashKey(DevAPIKey), Scopes: DevAPIKeyScopes},
		{Name: "vapora-knowledge", KeySHA256: principal.HashKey(DevKnowledgeKey), Scopes: []string{"kogral-reader"}}})
	vars := map[string]string{"API_JWT_SECRET": DevJWTSecret, "API_KEYS": string(keys), "KOGRAL_PROJECT": DevKogralProject}
	for k := range vars {
		if v := os.Getenv(k); v != "" {
			vars[k] = v
		}
	}
	return vars
}
