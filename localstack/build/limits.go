package build

import (
	"slices"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// The largest bootstrap each kind of function may ship (bytes): HTTP
// functions 12 MB, consumers and scheduled functions 10 MB. Lambda's own
// ceiling is far above; these keep cold starts short and catch a dependency
// linked where it does not run.
const (
	HTTPLimit  = 12 << 20
	EventLimit = 10 << 20
)

// overLimit are the functions that cannot reach their kind's limit today,
// each with its honest limit (the next MB above its size, measured with
// `stratum build`) and why. Every bootstrap links the platform: aws-lambda-go,
// the AWS SDK's default config chain (SSO, STS, IMDS) and Secrets Manager for
// resolveSecrets, the SurrealDB client, NATS, and Prometheus with protobuf
// through obs, about 12 MB before a system's own code. Lower an entry when the
// platform gets lighter; remove it once the function fits its kind's limit.
var overLimit = map[string]int64{
	// Platform plus cedar-go for the HTTP route its set also builds.
	"portfolio-executions":   15 << 20, // 14.1 MB on 2026-11-30
	"portfolio-on-execution": 15 << 20, // 14.1 MB
	// Platform plus the vault's store, Cedar and engines.
	"vault-audit":    15 << 20, // 14.1 MB
	"vault-backup":   14 << 20, // 13.4 MB
	"vault-crypto":   14 << 20, // 13.4 MB
	"vault-database": 15 << 20, // 13.9 MB
	"vault-secrets":  15 << 20, // 14.7 MB
	"vault-sys":      16 << 20, // 15.0 MB
	// Platform plus Vapora's store, Cedar and the LLM clients; vaporafn builds
	// eight Vapora functions from one set, so each links all eight.
	"vapora-agents":             15 << 20, // 14.5 MB
	"vapora-agent-sweep":        15 << 20, // 14.5 MB
	"vapora-board-check":        15 << 20, // 14.5 MB
	"vapora-on-agent-register":  15 << 20, // 14.5 MB
	"vapora-on-heartbeat":       15 << 20, // 14.5 MB
	"vapora-on-task-assign":     15 << 20, // 14.5 MB
	"vapora-on-task-result":     15 << 20, // 14.5 MB
	"vapora-projects":           15 << 20, // 14.5 MB
	"vapora-llm":                15 << 20, // 14.6 MB
	"vapora-agent-runner":       16 << 20, // 15.0 MB
	"vapora-swarm":              15 << 20, // 14.8 MB
	"vapora-pipelines":          15 << 20, // 14.8 MB
	"vapora-pipeline-on-result": 15 << 20, // 14.8 MB
	"vapora-pipeline-sweep":     15 << 20, // 14.8 MB
	"vapora-knowledge":          15 << 20, // 14.8 MB
	// Platform plus the form engine, Cedar and the HTML page (templates and
	// CUE stay in the CLI).
	"typedialog-forms": 15 << 20, // 14.7 MB
	// Platform plus the workflow engine; the orchestrator links the HTTP API
	// too (one set builds both).
	"provisioning-workflows":    15 << 20, // 14.3 MB
	"provisioning-orchestrator": 15 << 20, // 14.3 MB
	// Platform plus the graph store, the search index, files/Logseq export,
	// Cedar and, for kogral-mcp, the MCP SDK and its JSON Schema library.
	"kogral-api":          16 << 20, // 14.9 MB
	"kogral-mcp":          17 << 20, // 16.6 MB
	"kogral-on-execution": 13 << 20, // 12.5 MB: the store's writes only
}

// Limit is the largest bootstrap function name may ship, 0 for a name the
// catalog does not list.
func Limit(name string) int64 {
	if l, ok := overLimit[name]; ok {
		return l
	}
	f, ok := catalog.Lookup(name)
	switch {
	case slices.Contains(catalog.InfraFunctions, name):
		return HTTPLimit // surreal-users: the SurrealDB client, Secrets Manager, the Lambda runtime (11.3 MiB)
	case !ok:
		return 0
	case f.Kind == catalog.HTTP:
		return HTTPLimit
	default: // consumers and (scheduled) invoke functions
		return EventLimit
	}
}
