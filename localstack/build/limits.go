package build

import (
	"slices"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// The largest bootstrap each kind of function may ship (bytes): HTTP
// functions (and WebSocket API handlers) 12 MB, consumers and scheduled
// functions 10 MB. Lambda's own
// ceiling is far above; these keep cold starts short and catch a dependency
// linked where it does not run.
const (
	HTTPLimit  = 12 << 20
	EventLimit = 10 << 20
	// ImageLimit is a container-image function's (catalog Image): its
	// bootstrap is what cannot fit a zip's limits (typedialog-contract links
	// CUE, whose cuecontext imports every builtin: 15.00 MiB with the Lambda
	// runtime alone, 17.69 as a platform function). Lambda allows a 10 GB
	// image; 40 MB still catches a dependency linked where it does not run.
	ImageLimit = 40 << 20
)

// overLimit are the functions that cannot reach their kind's limit today,
// each with its honest limit (the next MB above its size, measured with
// `stratum build`) and why. Every bootstrap links the platform: aws-lambda-go,
// the SurrealDB client, NATS, slog and the standard library's TLS and HTTP,
// about 7.5 MB before a system's own code (the AWS SDK's config chain, its
// generated Secrets Manager, Lambda and KMS clients and Prometheus's
// protobuf registry, another 4 MB, are gone: see awscfg, lambdaclient,
// kmsclient and obs). Remove an entry once the function fits its kind's limit.
var overLimit = map[string]int64{
	// kogral-mcp, the largest HTTP function, is 11.88 MB (12.19 before its
	// frontmatter writer and the Logseq page skim dropped gopkg.in/yaml.v3,
	// which only the CLI links now).
	//
	// 10.38 MiB on 2026-11-30: the platform an invoke function links (9.3 MB
	// for vault-database) plus pongo2, which looks methods up by name and so
	// keeps every exported method of the binary. It exists so that
	// typedialog-forms (10.44 MiB) does not link pongo2.
	"typedialog-render": 11 << 20,
	// 10.00 MiB on 2026-11-30 (10 485 922 bytes, 162 over the event limit
	// once the swarm's placement loop landed): it reads tasks and agents
	// through vapora.Store, and importing shared/vapora links the whole
	// Vapora API, which the package-level route specs (routes.go) reach.
	// Moving the specs, or the store's reads, into packages of their own
	// would bring it back under 10 MiB.
	"vapora-agent-runner": 11 << 20,
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
	case f.Image:
		return ImageLimit
	case f.Kind == catalog.HTTP || servesWebSocket(name):
		return HTTPLimit // an API's handler: it links the API's authentication and Cedar as HTTP functions do
	default: // consumers and (scheduled) invoke functions
		return EventLimit
	}
}

// servesWebSocket is whether name handles a WebSocket API (catalog
// WebSockets): an invoke function by kind, an API by what it does.
func servesWebSocket(name string) bool {
	return slices.ContainsFunc(catalog.WebSockets, func(w catalog.WebSocket) bool { return w.Function == name })
}
