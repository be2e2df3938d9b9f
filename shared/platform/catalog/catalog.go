// Package catalog lists every function of StratumIOps once: its kind, its HTTP
// routes or NATS subjects, its environment, memory and timeout. The CDK app in
// infra/ and the devstack in localstack/ are both generated from it, so the
// deployed and the local shape cannot drift.
package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind says how a function is reached.
type Kind string

const (
	// HTTP functions sit behind their system's API Gateway HTTP API.
	HTTP Kind = "http"
	// Consumer functions are invoked by the NATS → Lambda dispatcher, one message
	// at a time or in batches (Function.Batch).
	Consumer Kind = "consumer"
	// Invoke functions have no route: only other functions call them, through the Lambda Invoke API.
	Invoke Kind = "invoke"
)

// Route is one API Gateway route key: "GET /executions/{id}".
// A greedy path parameter is written "{name+}" as in API Gateway.
type Route struct {
	Method string
	Path   string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Function is one Lambda.
type Function struct {
	Name        string
	System      string
	Kind        Kind
	Description string
	// Routes of an HTTP function.
	Routes []Route
	// Subjects a consumer function takes from JetStream.
	Subjects []string
	// MaxDeliver bounds the deliveries of one message to a consumer before it
	// goes to the dead-letter stream.
	MaxDeliver int
	// Database is the SurrealDB database the function uses ("" for none).
	Database string
	// Bus says whether the function publishes to NATS.
	Bus bool
	// Invokes lists the functions of the same system this one may call
	// through the Lambda Invoke API; IAM grants exactly these.
	Invokes []string
	// KMS says whether the function may use the vault's auto-unseal KMS key.
	KMS bool
	// SecretsKey says whether the function may use the platform's
	// application-secrets KMS key (SECRETS_KMS_KEY), which seals secrets that
	// are not the vault's, such as LLM providers' API keys. It is a key of
	// its own so that the vault's unseal key stays vault-crypto's alone.
	SecretsKey bool
	// Backups says the function writes the vault's backups: in AWS it gets
	// the backup bucket (VAULT_BACKUP_BUCKET) and may put, list and delete
	// there; in the devstack a directory (VAULT_BACKUP_DIR).
	Backups bool
	// Auth says the function authenticates API callers: it gets the JWT
	// signing secret and the API keys (API_JWT_SECRET, API_KEYS).
	Auth bool
	// Schedule runs an invoke-only function periodically: "rate(1 minute)" or
	// "cron(...)" in EventBridge syntax (a ticker in the devstack).
	Schedule string
	// MaxBody bounds an HTTP function's request bodies in bytes; 0 means
	// httpapi.DefaultMaxBody (1 MiB). In AWS, API Gateway (10 MB) and the
	// Lambda invoke payload (6 MB, base64 for binary bodies) bound it first.
	MaxBody int64
	// Calls names the systems whose HTTP APIs the function calls with a
	// service credential: it reads <SYSTEM>_URL and <SYSTEM>_API_KEY, which a
	// deployment gives as a secret, never as plain configuration (in AWS the
	// secret <system>-client {"url", "api_key"}, named by
	// <SYSTEM>_CLIENT_SECRET_ARN, as the database and API credentials are).
	Calls []string
	// Image ships the function as a Lambda container image instead of a zip:
	// `stratum build` writes a Dockerfile next to its bootstrap and the CDK
	// app makes it a DockerImageFunction. For a binary that cannot fit a
	// zip's limit (typedialog-contract links CUE, which links every builtin).
	Image bool
	// Env holds function-specific variables and their defaults.
	Env         map[string]string
	MemoryMB    int
	Timeout     time.Duration
	Concurrency int // reserved concurrency; 0 = unreserved
	// Batch lets a consumer take up to this many waiting messages in one
	// invocation, as a Lambda event source's batch size does; 0 = one at a time.
	Batch int
	// AckWait is how long a consumer's delivery may go without news before
	// JetStream delivers it again (after a crash of the instance handling it);
	// 0 means Timeout + 5s. While a delivery is being handled the bus keeps
	// telling JetStream it is in progress, so a shorter AckWait only shortens
	// the wait after a crash.
	AckWait time.Duration
}

// Stream is a JetStream stream and the subjects it keeps.
type Stream struct {
	Name     string
	Subjects []string
	MaxAge   time.Duration
}

// System is one product with its own HTTP gateway.
type System struct {
	Name string
	// DevPort is where the devstack serves the system's gateway by default.
	DevPort int
}

// DeadLetterStream keeps messages that a consumer could not process, with the
// last error, under deadletter.<consumer>.
var DeadLetterStream = Stream{Name: "DEADLETTER", Subjects: []string{"deadletter.>"}, MaxAge: 14 * 24 * time.Hour}

// Systems lists the products; the vault keeps Vault's port so its clients work unchanged.
var Systems = []System{
	{Name: "portfolio", DevPort: 8400},
	{Name: "vault", DevPort: 8200},
	{Name: "vapora", DevPort: 8401},
	{Name: "kogral", DevPort: 8402},
}

// Streams lists the JetStream streams, one per system that publishes events.
var Streams = []Stream{
	{Name: "PORTFOLIO", Subjects: []string{"portfolio.>"}, MaxAge: 7 * 24 * time.Hour},
	{Name: "VAPORA", Subjects: []string{"vapora.>"}, MaxAge: 7 * 24 * time.Hour},
}

// Functions lists every function exactly once.
var Functions = []Function{
	{
		Name:        "portfolio-executions",
		System:      "portfolio",
		Kind:        HTTP,
		Description: "Cross-system execution records: create, get, list with filters.",
		Routes: []Route{
			{"GET", "/openapi.json"},
			{"POST", "/executions"},
			{"GET", "/executions"},
			{"GET", "/executions/{id}"},
		},
		Database: "portfolio",
		Auth:     true,
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
	{
		Name:        "portfolio-on-execution",
		System:      "portfolio",
		Kind:        Consumer,
		Description: "Stores executions announced on the bus, once per event id.",
		Subjects:    []string{"portfolio.executions.recorded"},
		MaxDeliver:  5,
		Database:    "portfolio",
		MemoryMB:    256,
		Timeout:     10 * time.Second,
	},
	{
		Name:        "vault-sys",
		System:      "vault",
		Kind:        HTTP,
		Description: "Vault-compatible /v1/sys: init, unseal, seal, seal-status, health, mounts, Cedar policies, leases, storage snapshots.",
		Routes:      []Route{{"ANY", "/v1/sys/{path+}"}},
		// A snapshot restore (sys/storage/raft/snapshot-force) streams the
		// snapshot in; JSON bodies stay bounded by 1 MiB.
		MaxBody:  1 << 30,
		Database: "secretumvault",
		Invokes:  []string{"vault-crypto", "vault-database", "vault-audit"},
		// "true" (set by infra/stacks in AWS): PUT sys/init needs the
		// deployment's init token (shared/vault.GateInit); off in the devstack.
		Env:      map[string]string{"VAULT_INIT_GATED": ""},
		MemoryMB: 256,
		Timeout:  28 * time.Second,
	},
	{
		Name:        "vault-secrets",
		System:      "vault",
		Kind:        HTTP,
		Description: "Vault-compatible /v1/<mount>/... (KV v1 and v2; transit, pki and database through the functions that serve them) and /v1/auth/token/*.",
		Routes:      []Route{{"ANY", "/v1/{path+}"}},
		Database:    "secretumvault",
		Invokes:     []string{"vault-crypto", "vault-database"},
		MemoryMB:    256,
		Timeout:     28 * time.Second,
	},
	{
		Name:        "vault-crypto",
		System:      "vault",
		Kind:        Invoke,
		Description: "The only holder of the vault's keys: init, unseal, seal, barrier, token hashing, transit and PKI keys.",
		Database:    "secretumvault",
		KMS:         true,
		Env:         map[string]string{"VAULT_UNSEAL_KEY_ARN": "alias/stratum/vault-unseal"},
		MemoryMB:    512,
		Timeout:     10 * time.Second,
	},
	{
		Name:        "vault-database",
		System:      "vault",
		Kind:        Invoke,
		Description: "The database secrets engine (PostgreSQL) and the leases on its credentials; on schedule, revokes expired leases and rotates static roles.",
		Database:    "secretumvault",
		Invokes:     []string{"vault-crypto"},
		Schedule:    "rate(1 minute)",
		MemoryMB:    256,
		Timeout:     20 * time.Second,
	},
	{
		Name:        "vault-backup",
		System:      "vault",
		Kind:        Invoke,
		Description: "On schedule, a snapshot of the vault's storage (as GET /v1/sys/storage/raft/snapshot streams it) to the backup bucket (a directory in the devstack), keeping the last VAULT_BACKUP_KEEP.",
		Database:    "secretumvault",
		Invokes:     []string{"vault-crypto"}, // the key that MACs a snapshot
		Backups:     true,
		Schedule:    "rate(1 hour)",
		Env:         map[string]string{"VAULT_BACKUP_KEEP": "48", "VAULT_BACKUP_PREFIX": "snapshots/"},
		MemoryMB:    256,
		Timeout:     5 * time.Minute,
	},
	{
		Name:        "vault-audit",
		System:      "vault",
		Kind:        Invoke,
		Description: "On schedule, a signed checkpoint of the audit log's lane heads into the backup bucket's audit-checkpoints/ (a directory in the devstack); verifies the log against it for sys/audit-verify.",
		Database:    "secretumvault",
		Invokes:     []string{"vault-crypto"},
		Backups:     true,
		Schedule:    "rate(1 minute)",
		Env:         map[string]string{"VAULT_AUDIT_KEEP": "1440", "VAULT_BACKUP_PREFIX": "audit-checkpoints/"},
		MemoryMB:    256,
		Timeout:     20 * time.Second, // under vault-sys, which invokes it for sys/audit-verify
	},
	{
		Name:        "vapora-projects",
		System:      "vapora",
		Kind:        HTTP,
		Description: "Vapora projects (scoped, archived on DELETE) and Kanban tasks: status moves, atomic reorder, assignment, each card's history, board integrity check and repair.",
		Routes: []Route{
			{"GET", "/openapi.json"},
			{"GET", "/projects"}, {"POST", "/projects"}, {"GET", "/projects/{id}"}, {"PUT", "/projects/{id}"},
			{"DELETE", "/projects/{id}"}, {"GET", "/projects/{id}/tasks"}, {"GET", "/projects/{id}/tasks/{task}/history"}, {"GET", "/projects/{id}/tasks/{task}/executions"}, {"GET", "/tasks"}, {"POST", "/tasks"}, {"GET", "/tasks/{id}"},
			{"PUT", "/tasks/{id}"}, {"DELETE", "/tasks/{id}"}, {"POST", "/tasks/{id}/assign"}, {"PUT", "/tasks/{id}/status"},
			{"PUT", "/tasks/{id}/order"}, {"GET", "/projects/{id}/integrity"}, {"POST", "/projects/{id}/integrity/repair"},
		},
		Database: "vapora",
		Bus:      true,
		Auth:     true,
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
	{
		Name:        "vapora-agents",
		System:      "vapora",
		Kind:        HTTP,
		Description: "Vapora agents: list, details, health, expertise by role, register, unregister.",
		Routes: []Route{
			{"GET", "/agents"}, {"POST", "/agents/register"}, {"GET", "/agents/{id}"}, {"DELETE", "/agents/{id}"},
			{"GET", "/agents/{id}/health"}, {"GET", "/agents/{id}/expertise"},
		},
		Database: "vapora",
		Bus:      true,
		Auth:     true,
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
	{
		Name:        "vapora-on-task-assign",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Applies task assignments: the agent takes on load, a Todo task moves to Doing.",
		Subjects:    []string{"vapora.tasks.assign"},
		MaxDeliver:  5,
		Database:    "vapora",
		Bus:         true,
		MemoryMB:    256,
		Timeout:     10 * time.Second,
		Concurrency: pipelineConcurrency,
	},
	{
		Name:        "vapora-on-task-result",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Applies task results once each: moves the task, sheds the agent's load, learns expertise, records a portfolio execution, and gives the freed agent a pipeline stage waiting for its role.",
		Subjects:    []string{"vapora.tasks.results"},
		MaxDeliver:  5,
		Database:    "vapora",
		Bus:         true,
		MemoryMB:    256,
		Timeout:     10 * time.Second,
		Concurrency: pipelineConcurrency,
	},
	{
		Name:        "vapora-on-heartbeat",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Records agent heartbeats (status, load — never below the shares its tasks hold —, time) and offers an agent they free room on to the pipeline stages waiting for its role.",
		Subjects:    []string{"vapora.agents.heartbeat"},
		MaxDeliver:  3,
		Database:    "vapora",
		Bus:         true, // the store's locks live in JetStream
		MemoryMB:    256,
		Timeout:     10 * time.Second,
		Concurrency: 2,
		Batch:       100, // the busiest subject: a batch of heartbeats is one write
	},
	{
		Name:        "vapora-on-agent-register",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Registers agents that announce themselves on the bus.",
		Subjects:    []string{"vapora.agents.register"},
		MaxDeliver:  5,
		Database:    "vapora",
		Bus:         true,
		MemoryMB:    256,
		Timeout:     10 * time.Second,
	},
	{
		Name:        "vapora-agent-sweep",
		System:      "vapora",
		Kind:        Invoke,
		Description: "Turns agents silent for three heartbeat intervals Offline and puts their Doing tasks back in Todo.",
		Schedule:    "rate(1 minute)",
		Database:    "vapora",
		Bus:         true,
		Env:         map[string]string{"VAPORA_HEARTBEAT_INTERVAL": "30s"},
		MemoryMB:    256,
		Timeout:     30 * time.Second,
	},
	{
		Name:        "vapora-board-check",
		System:      "vapora",
		Kind:        Invoke,
		Description: "Checks every Active project's board (records against the rank index), repairs a broken one in one transaction and announces it.",
		Schedule:    "rate(15 minutes)",
		Database:    "vapora",
		Bus:         true,
		MemoryMB:    256,
		Timeout:     60 * time.Second,
	},
	{
		Name:        "vapora-llm",
		System:      "vapora",
		Kind:        HTTP,
		Description: "Vapora's LLM router: providers, routing rules with fallback, budgets per role (80/100 %), cost records and reports.",
		Routes: []Route{
			{"POST", "/llm/route"}, {"GET", "/llm/providers"}, {"PUT", "/llm/providers/{name}"}, {"GET", "/llm/rules"},
			{"PUT", "/llm/rules"}, {"GET", "/llm/budget/{role}"}, {"PUT", "/llm/budget/{role}"}, {"GET", "/llm/costs"},
			{"GET", "/llm/costs/{key}"},
		},
		Database:   "vapora",
		Bus:        true, // publishes cost records on vapora.llm.costs
		Auth:       true,
		SecretsKey: true, // seals providers' API keys when no vault is configured
		Env:        llmEnv,
		MemoryMB:   256,
		Timeout:    28 * time.Second, // under API Gateway's 30 s: a route's chain must fit in it
	},
	{
		Name:        "vapora-agent-runner",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Runs the tasks assigned to built-in LLM agents: prompt from the task, LLM router, result with output, tokens and cost.",
		Subjects:    []string{"vapora.tasks.assign"},
		MaxDeliver:  5,
		Database:    "vapora",
		Bus:         true,
		SecretsKey:  true, // opens providers' API keys sealed with KMS
		Env:         llmEnv,
		// Kogral's API, with a kogral-reader key, for the guidelines,
		// patterns and decisions a prompt carries.
		Calls:    []string{"kogral"},
		MemoryMB: 256,
		Timeout:  5 * time.Minute, // a task's call may walk a fallback chain of slow providers
	},
	{
		Name:        "vapora-llm-on-cost",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Writes the LLM router's cost records from vapora.llm.costs, in batches, each once by its id.",
		Subjects:    []string{"vapora.llm.costs"},
		// A dead-lettered record is spend the budgets miss (its router
		// instance keeps counting it): retry long before giving up.
		MaxDeliver: 20,
		Batch:      100,
		Database:   "vapora",
		MemoryMB:   256,
		Timeout:    30 * time.Second,
	},
	{
		Name:        "kogral-api",
		System:      "kogral",
		Kind:        HTTP,
		Description: "Kogral knowledge graph: nodes, blocks, decisions, edges, graphs, guidelines, search, connected, path, small exports, export jobs, import.",
		Routes: []Route{
			{"GET", "/openapi.json"},
			{"POST", "/nodes"}, {"GET", "/nodes"}, {"GET", "/nodes/{id}"}, {"PUT", "/nodes/{id}"}, {"DELETE", "/nodes/{id}"},
			{"GET", "/nodes/{id}/edges"}, {"GET", "/nodes/{id}/blocks"}, {"GET", "/nodes/{id}/connected"}, {"POST", "/decisions"},
			{"POST", "/edges"}, {"DELETE", "/edges"},
			{"GET", "/graphs"}, {"GET", "/graphs/{id}/guidelines"}, {"GET", "/search"}, {"GET", "/path"},
			{"GET", "/export"}, {"POST", "/import"},
			{"POST", "/exports"}, {"GET", "/exports/{job}"}, {"GET", "/exports/{job}/result"},
		},
		// An import batch carries nodes of up to 1 MiB of content each
		// (JSON-escaped); the CLI keeps its batches under 4 MiB.
		MaxBody:  5 << 20,
		Database: "kogral",
		Bus:      true, // queues export jobs (kogral-export)
		Auth:     true,
		Env:      kogralEnv,
		MemoryMB: 512,
		Timeout:  28 * time.Second,
	},
	{
		Name:        "kogral-mcp",
		System:      "kogral",
		Kind:        HTTP,
		Description: "Kogral's MCP server over streamable HTTP (stateless): 8 tools, 6 resources, 2 prompts.",
		Routes:      []Route{{"ANY", "/mcp"}},
		Database:    "kogral",
		Auth:        true,
		Env:         kogralEnv,
		MemoryMB:    512,
		Timeout:     28 * time.Second,
	},
	{
		Name:        "kogral-on-execution",
		System:      "kogral",
		Kind:        Consumer,
		Description: "Records finished Vapora executions as Execution nodes linked to their project.",
		Subjects:    []string{"portfolio.executions.recorded"},
		MaxDeliver:  5,
		Database:    "kogral",
		Env:         kogralEnv,
		MemoryMB:    256,
		Timeout:     30 * time.Second,
	},
}

// llmEnv configures where the LLM router keeps providers' API keys:
// SecretumVault's KV v2 when VAULT_ADDR is set, else the platform's
// application-secrets KMS key (SECRETS_KMS_KEY, see SecretsKey).
var llmEnv = map[string]string{"VAULT_ADDR": "", "VAULT_TOKEN": "", "VAULT_ROLE_ID": "", "VAULT_SECRET_ID": "", "VAPORA_LLM_VAULT_MOUNT": "secret",
	"VAPORA_RUNNER_MAX_TOKENS": "4096"}

// kogralEnv configures Kogral's embedder and the MCP server's project graph.
var kogralEnv = map[string]string{"KOGRAL_EMBEDDER": "local", "KOGRAL_EMBED_URL": "", "KOGRAL_EMBED_MODEL": "",
	"KOGRAL_EMBED_API_KEY": "", "KOGRAL_PROJECT": "default"}

// Environment lists every variable f reads with its default; an empty default
// is filled by the deployment (the devstack, or CDK from Secrets Manager and
// stack outputs). Function-specific Env entries are included.
func (f Function) Environment() map[string]string {
	env := map[string]string{"LOG_LEVEL": "info"}
	if f.Database != "" {
		env["SURREAL_URL"] = ""
		env["SURREAL_USER"] = ""
		env["SURREAL_PASS"] = ""
		env["SURREAL_NAMESPACE"] = "portfolio"
	}
	if f.Bus {
		env["NATS_URL"] = ""
	}
	if f.Auth {
		env["API_JWT_SECRET"] = ""
		env["API_KEYS"] = ""
		// Empty: JWTs must carry iss "stratumiops/<system>" and aud "<system>".
		env["API_JWT_ISSUER"] = ""
		env["API_JWT_AUDIENCE"] = ""
	}
	if f.SecretsKey {
		env["SECRETS_KMS_KEY"] = ""
	}
	for _, system := range f.Calls {
		env[ClientVar(system, "URL")] = ""
		env[ClientVar(system, "API_KEY")] = ""
	}
	for k, v := range f.Env {
		env[k] = v
	}
	return env
}

// InfraFunctions are Lambdas under functions/ that only the deployment runs,
// not catalog functions: the platform stack's custom resources
// (infra/stacks). `stratum build` builds them with the catalog's.
var InfraFunctions = []string{"surreal-users"}

// ClientVar is the variable of a called system's setting: ClientVar("kogral",
// "API_KEY") is KOGRAL_API_KEY (see Function.Calls).
func ClientVar(system, setting string) string {
	return strings.ToUpper(strings.ReplaceAll(system, "-", "_")) + "_" + setting
}

// SurrealUser is the SurrealDB user f logs in as: a user of f's database
// only (see surreal.DefineDatabaseUser), "" when f uses no database. Each
// deployment defines one per function, with a password of its own.
func (f Function) SurrealUser() string {
	if f.Database == "" {
		return ""
	}
	return "fn_" + strings.ReplaceAll(f.Name, "-", "_")
}

// Lookup finds a function by name.
func Lookup(name string) (Function, bool) {
	i := slices.IndexFunc(Functions, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return Functions[i], true
}

// LookupSystem finds a system by name.
func LookupSystem(name string) (System, bool) {
	i := slices.IndexFunc(Systems, func(s System) bool { return s.Name == name })
	if i < 0 {
		return System{}, false
	}
	return Systems[i], true
}

// OfSystem returns the functions of one system in catalog order.
func OfSystem(system string) []Function {
	var out []Function
	for _, f := range Functions {
		if f.System == system {
			out = append(out, f)
		}
	}
	return out
}

// StreamFor returns the stream that keeps subject.
func StreamFor(subject string) (Stream, bool) {
	for _, s := range append(slices.Clone(Streams), DeadLetterStream) {
		for _, pattern := range s.Subjects {
			if SubjectMatches(pattern, subject) {
				return s, true
			}
		}
	}
	return Stream{}, false
}

// SubjectMatches reports whether a NATS subject matches a pattern with * and > wildcards.
func SubjectMatches(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}

// MaxHTTPTimeout is the longest an HTTP function may run: API Gateway's
// HTTP API gives up at 30 s, and the function must answer before it does.
const MaxHTTPTimeout = 28 * time.Second

// maxBatch bounds a consumer's batch, as SQS's event source does (the
// dispatcher also splits a batch that would pass Lambda's payload limit).
const maxBatch = 100

// Validate checks the catalog's own consistency: unique names, known systems,
// kinds with what they need, every route claimed once, every subject in a stream.
// It returns every problem, each naming the function concerned.
func Validate(systems []System, streams []Stream, functions []Function) error {
	v := &validation{known: map[string]bool{}, names: map[string]bool{}, routes: map[string]string{}, streams: streams}
	for _, s := range systems {
		v.known[s.Name] = true
	}
	for _, f := range functions {
		v.function(f)
		v.kind(f)
	}
	v.invokes(functions)
	if len(v.problems) > 0 {
		return fmt.Errorf("catalog: %s", strings.Join(v.problems, "; "))
	}
	return nil
}

// validation collects Validate's problems.
type validation struct {
	problems []string
	known    map[string]bool   // systems
	names    map[string]bool   // functions seen
	routes   map[string]string // "system METHOD path" → function
	streams  []Stream
}

func (v *validation) add(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// function checks what every function has: its name, system and limits.
func (v *validation) function(f Function) {
	if f.Name == "" || strings.ToLower(f.Name) != f.Name || strings.ContainsAny(f.Name, " /_") {
		v.add("function %q: name must be lower-case kebab-case", f.Name)
	}
	if v.names[f.Name] {
		v.add("function %q: listed twice", f.Name)
	}
	v.names[f.Name] = true
	if !v.known[f.System] {
		v.add("function %q: unknown system %q", f.Name, f.System)
	}
	if !strings.HasPrefix(f.Name, f.System+"-") {
		v.add("function %q: name must start with its system %q", f.Name, f.System)
	}
	if f.MemoryMB < 128 || f.MemoryMB > 10240 {
		v.add("function %q: memory %d MB outside Lambda's 128–10240", f.Name, f.MemoryMB)
	}
	if f.Timeout <= 0 || f.Timeout > 15*time.Minute {
		v.add("function %q: timeout %s outside Lambda's (0, 15m]", f.Name, f.Timeout)
	}
	if f.Kind == HTTP && f.Timeout > MaxHTTPTimeout {
		v.add("function %q: timeout %s above %s: API Gateway answers 503 at 30 s, before the function could", f.Name, f.Timeout, MaxHTTPTimeout)
	}
	if f.Batch != 0 && f.Kind != Consumer {
		v.add("function %q: only consumers take batches", f.Name)
	}
	if f.Schedule != "" && f.Kind != Invoke {
		v.add("function %q: only invoke-only functions take a schedule", f.Name)
	}
}

// kind checks what f's kind asks: routes, subjects or a schedule.
func (v *validation) kind(f Function) {
	switch f.Kind {
	case HTTP:
		v.http(f)
	case Consumer:
		if len(f.Subjects) == 0 {
			v.add("function %q: consumer without subjects", f.Name)
		}
		if len(f.Routes) > 0 {
			v.add("function %q: consumer with routes", f.Name)
		}
		if f.MaxDeliver < 1 {
			v.add("function %q: consumer needs MaxDeliver ≥ 1", f.Name)
		}
		if f.Batch < 0 || f.Batch > maxBatch {
			v.add("function %q: batch %d outside 0–%d", f.Name, f.Batch, maxBatch)
		}
		for _, subj := range f.Subjects {
			if !inStreams(v.streams, subj) {
				v.add("function %q: subject %q is kept by no stream", f.Name, subj)
			}
		}
	case Invoke:
		if len(f.Routes) > 0 || len(f.Subjects) > 0 {
			v.add("function %q: invoke-only function with routes or subjects", f.Name)
		}
		if f.Schedule != "" && !validSchedule(f.Schedule) {
			v.add("function %q: schedule %q is not rate(...) or cron(...)", f.Name, f.Schedule)
		}
	default:
		v.add("function %q: unknown kind %q", f.Name, f.Kind)
	}
}

func (v *validation) http(f Function) {
	if len(f.Routes) == 0 {
		v.add("function %q: http function without routes", f.Name)
	}
	if len(f.Subjects) > 0 {
		v.add("function %q: http function with subjects", f.Name)
	}
	for _, r := range f.Routes {
		if !validMethod(r.Method) || !strings.HasPrefix(r.Path, "/") {
			v.add("function %q: bad route %q", f.Name, r)
		}
		key := f.System + " " + r.String()
		if other, ok := v.routes[key]; ok {
			v.add("route %q of system %s claimed by both %q and %q", r, f.System, other, f.Name)
		}
		v.routes[key] = f.Name
	}
}

// invokes checks each synchronous call: to an invoke-only function of the
// same system with a shorter timeout.
func (v *validation) invokes(functions []Function) {
	byName := map[string]Function{}
	for _, f := range functions {
		byName[f.Name] = f
	}
	for _, f := range functions {
		for _, target := range f.Invokes {
			t, ok := byName[target]
			switch {
			case !ok:
				v.add("function %q invokes unknown function %q", f.Name, target)
			case t.System != f.System:
				v.add("function %q invokes %q of another system; systems talk over the bus", f.Name, target)
			case t.Kind != Invoke:
				v.add("function %q invokes %q, which is not invoke-only", f.Name, target)
			case t.Timeout >= f.Timeout:
				v.add("function %q (timeout %s) invokes %q synchronously, whose timeout %s is not shorter", f.Name, f.Timeout, target, t.Timeout)
			}
		}
	}
}

func inStreams(streams []Stream, subject string) bool {
	for _, s := range streams {
		for _, p := range s.Subjects {
			if SubjectMatches(p, subject) {
				return true
			}
		}
	}
	return false
}

func validSchedule(s string) bool {
	return (strings.HasPrefix(s, "rate(") || strings.HasPrefix(s, "cron(")) && strings.HasSuffix(s, ")")
}

func validMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "LIST", "ANY":
		return true
	}
	return false
}
