package kogral

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// EmbedderFromEnv picks the embedder: KOGRAL_EMBEDDER = local (default),
// openai, ollama or bedrock, with KOGRAL_EMBED_URL, KOGRAL_EMBED_MODEL and
// KOGRAL_EMBED_API_KEY (OpenAI); Bedrock signs with the function's AWS
// credentials.
func EmbedderFromEnv(ctx context.Context, env func(string) string) (Embedder, error) {
	url, model := env("KOGRAL_EMBED_URL"), env("KOGRAL_EMBED_MODEL")
	switch kind := env("KOGRAL_EMBEDDER"); kind {
	case "", "local":
		return LocalEmbedder{}, nil
	case "openai":
		if url == "" {
			url = "https://api.openai.com"
		}
		if model == "" {
			model = "text-embedding-3-small"
		}
		return NewOpenAI(url, env("KOGRAL_EMBED_API_KEY"), model), nil
	case "ollama":
		if url == "" {
			url = "http://127.0.0.1:11434"
		}
		if model == "" {
			model = "all-minilm"
		}
		return NewOllama(url, model), nil
	case "bedrock":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		if url == "" {
			url = fmt.Sprintf("https://bedrock-runtime.%s.amazonaws.com", cfg.Region)
		}
		if model == "" {
			model = "amazon.titan-embed-text-v2:0"
		}
		return NewBedrock(url, cfg.Region, model, cfg.Credentials), nil
	default:
		return nil, fmt.Errorf("KOGRAL_EMBEDDER %q: want local, openai, ollama or bedrock", kind)
	}
}

func storeFor(ctx context.Context, d *function.Deps) (*Store, error) {
	e, err := EmbedderFromEnv(ctx, d.Env)
	if err != nil {
		return nil, err
	}
	return NewStore(d.Surreal, e), nil
}

// accessFor is the store as the API and the MCP server serve it: every
// operation authorized by schemas/cedar/kogral for the request's caller.
func accessFor(ctx context.Context, d *function.Deps) (*Access, error) {
	s, err := storeFor(ctx, d)
	if err != nil {
		return nil, err
	}
	engine, err := authz.Load(schemas.Cedar, "cedar/kogral")
	if err != nil {
		return nil, err
	}
	return NewAccess(s, engine), nil
}

func apiFor(ctx context.Context, d *function.Deps, withMCP bool) (*API, error) {
	s, err := accessFor(ctx, d)
	if err != nil {
		return nil, err
	}
	auth, err := d.Authenticator()
	if err != nil {
		return nil, err
	}
	a := &API{backend: s, auth: auth}
	if withMCP {
		a.mcp = MCPHandler(NewMCPServer(s, d.Env("KOGRAL_PROJECT")))
	}
	return a, nil
}

// ExecutionGraph is the graph a Vapora project's executions go to: one of
// the execution's scope, "<scope>.<project>", so that only that scope reads
// it. An execution without a scope fit for a graph name has none ("").
func ExecutionGraph(scope, project string) string {
	graph := scope + "." + strings.Trim(Slug(project), "-")
	if len(graph) > 64 {
		graph = strings.TrimRight(graph[:64], "-.")
	}
	if scope == "" || strings.Contains(scope, ".") || !graphPattern.MatchString(graph) {
		return ""
	}
	return graph
}

// OnExecution records a finished Vapora execution as an Execution node in
// its scope's graph of the project (ExecutionGraph), linked to a node for
// the project. An execution without a usable scope is not copied: no graph
// would keep it from other tenants. Redeliveries change nothing: the node's
// id is the event's.
func OnExecution(b Backend) bus.Handler {
	return bus.Typed(func(ctx context.Context, d bus.Delivery, e events.ExecutionRecorded) error {
		if e.Source != "vapora" {
			return nil
		}
		graph := ExecutionGraph(e.Scope, e.Project)
		if graph == "" {
			obs.Log(ctx).Warn("execution not copied: its scope cannot name a graph", "event_id", e.ID, "scope", e.Scope)
			return nil
		}
		projectID := "project-" + strings.Trim(Slug(e.Project), "-")
		_, err := b.CreateNode(ctx, NodeInput{ID: projectID, NodeType: "Note", Title: "Project " + e.Project,
			Content: "Executions recorded for Vapora project " + e.Project + ".", GraphID: graph, Metadata: map[string]any{"vapora_project": e.Project}})
		if err != nil && !errors.As(err, new(*ConflictError)) {
			return err
		}
		agent := ""
		if e.AgentID != nil {
			agent = *e.AgentID
		}
		execID := "exec-" + Slug(e.ID)
		body := fmt.Sprintf("Task type %s by %s: %s in %d ms.", e.TaskType, agent, e.Status, e.DurationMs)
		_, err = b.CreateNode(ctx, NodeInput{ID: execID, NodeType: "Execution", Title: fmt.Sprintf("%s %s (%s)", e.TaskType, e.Status, agent),
			Content: body, GraphID: graph, Tags: []string{e.TaskType, e.Status},
			Metadata: map[string]any{"event_id": e.ID, "agent_id": agent, "status": e.Status, "duration_ms": e.DurationMs,
				"task_type": e.TaskType, "occurred_at": e.OccurredAt, "details": e.Metadata}})
		if err != nil && !errors.As(err, new(*ConflictError)) {
			return err
		}
		_, err = b.Link(ctx, Edge{Source: execID, Target: projectID, Relation: "RelatesTo", Weight: 1})
		return err
	})
}

// Functions are Kogral's functions, by catalog name.
var Functions = function.Set{
	"kogral-api": function.HTTP(APISpec, func(ctx context.Context, d *function.Deps) (*API, error) {
		return apiFor(ctx, d, false)
	}),
	"kogral-mcp": function.HTTP(MCPSpec, func(ctx context.Context, d *function.Deps) (*API, error) {
		return apiFor(ctx, d, true)
	}),
	"kogral-on-execution": function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		s, err := storeFor(ctx, d)
		if err != nil {
			return nil, err
		}
		return OnExecution(s), nil
	}),
}
