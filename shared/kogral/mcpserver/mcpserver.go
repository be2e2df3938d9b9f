package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// Version is reported to MCP clients.
const Version = "1.0.0"

// Tool inputs: their JSON schemas are derived from these types, so a call
// with a missing or mistyped argument is refused before it runs.
type (
	searchIn struct {
		Query    string `json:"query" jsonschema:"words to look for"`
		NodeType string `json:"node_type,omitempty" jsonschema:"only nodes of this type: Note, Decision, Guideline, Pattern, Journal or Execution"`
		Tag      string `json:"tag,omitempty" jsonschema:"only nodes with this tag"`
		Graph    string `json:"graph,omitempty" jsonschema:"only nodes of this graph"`
		Semantic bool   `json:"semantic,omitempty" jsonschema:"also rank by meaning (embeddings), fused with the text ranking"`
		Limit    int    `json:"limit,omitempty" jsonschema:"at most this many results (default 10)"`
	}
	addNoteIn struct {
		Title   string   `json:"title" jsonschema:"the note's title"`
		Content string   `json:"content" jsonschema:"markdown body"`
		Tags    []string `json:"tags,omitempty" jsonschema:"tags"`
		Graph   string   `json:"graph,omitempty" jsonschema:"graph (default: the project's)"`
	}
	addDecisionIn struct {
		Title        string               `json:"title" jsonschema:"the decision, as a short title"`
		Context      string               `json:"context" jsonschema:"the forces at play"`
		Decision     string               `json:"decision" jsonschema:"what was decided"`
		Consequences string               `json:"consequences" jsonschema:"what follows from it"`
		Status       string               `json:"status,omitempty" jsonschema:"Proposed (default), Accepted, Deprecated or Superseded"`
		Supersedes   string               `json:"supersedes,omitempty" jsonschema:"id of the decision this one replaces"`
		Alternatives []kogral.Alternative `json:"alternatives,omitempty" jsonschema:"options weighed and not chosen: each with a title, pros, cons and why it was not chosen"`
		Related      []string             `json:"related_decisions,omitempty" jsonschema:"ids of related decisions (each is linked RelatesTo)"`
		Tags         []string             `json:"tags,omitempty" jsonschema:"tags"`
		Graph        string               `json:"graph,omitempty" jsonschema:"graph (default: the project's)"`
	}
	linkIn struct {
		Source   string  `json:"source" jsonschema:"id of the node the edge starts at"`
		Target   string  `json:"target" jsonschema:"id of the node it points to"`
		Relation string  `json:"relation" jsonschema:"RelatesTo, DependsOn, Implements, Extends, Supersedes or Explains"`
		Weight   float64 `json:"weight,omitempty" jsonschema:"strength, default 1"`
	}
	guidelinesIn struct {
		Topic         string `json:"topic,omitempty" jsonschema:"only guidelines about this topic (their topic, a tag or a word of the title); all when empty"`
		IncludeShared *bool  `json:"include_shared,omitempty" jsonschema:"also the organisation's shared guidelines (default true)"`
		Graph         string `json:"graph,omitempty" jsonschema:"project graph (default: the server's project)"`
	}
	noArgs   struct{}
	exportIn struct {
		Format string `json:"format" jsonschema:"json, dot, markdown or logseq"`
		Graph  string `json:"graph,omitempty" jsonschema:"only this graph (default: all)"`
	}
)

// maxSearchLimit is the most hits a search tool call asks for, as the API's
// GET /search limit.
const maxSearchLimit = 1000

// NewServer is Kogral's MCP server over b, for the project graph project:
// the seed's 7 tools and add_execution (which Vapora calls, spec seed:
// integration patterns), 6 resources, 2 prompts.
func NewServer(b kogral.Backend, project string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "kogral", Title: "Kogral knowledge graph", Version: Version}, nil)
	addSearchTools(s, b, project)
	addWriteTools(s, b, project)
	addResources(s, b, project)
	addPrompts(s, b, project)
	return s
}

// addSearchTools registers the tools that read: search, get_guidelines,
// list_graphs and export.
func addSearchTools(s *mcp.Server, b kogral.Backend, project string) {
	graphOr := func(g string) string {
		if g == "" {
			return project
		}
		return g
	}
	mcp.AddTool(s, &mcp.Tool{Name: "search", Description: "Search the knowledge graph (full-text, optionally semantic)"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, map[string]any, error) {
			if in.Limit < 0 || in.Limit > maxSearchLimit {
				return nil, nil, &kogral.InputError{Msg: fmt.Sprintf("limit %d: want 1–%d (0 or none: 10)", in.Limit, maxSearchLimit)}
			}
			hits, err := b.Search(ctx, kogral.SearchQuery{Query: in.Query, Semantic: in.Semantic, Full: true, // its hits carry their content
				Filter: kogral.Filter{NodeType: in.NodeType, Tag: in.Tag, GraphID: in.Graph, Limit: in.Limit}})
			if err != nil {
				return nil, nil, err
			}
			return nil, map[string]any{"hits": kogral.BoundHits(hits, true, kogral.MaxToolAnswerBytes)}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "get_guidelines", Description: "Get the guidelines that apply to a project: shared ones, overridden by the project's own"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in guidelinesIn) (*mcp.CallToolResult, map[string]any, error) {
			gl, err := b.Guidelines(ctx, graphOr(in.Graph))
			if err != nil {
				return nil, nil, err
			}
			about := kogral.GuidelinesAbout(gl, in.Topic, in.IncludeShared == nil || *in.IncludeShared)
			return nil, map[string]any{"guidelines": kogral.Within(about, kogral.MaxToolAnswerBytes)}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "list_graphs", Description: "List the knowledge graphs"},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, map[string]any, error) {
			gs, err := b.Graphs(ctx)
			return nil, map[string]any{"graphs": gs}, err
		})
	mcp.AddTool(s, &mcp.Tool{Name: "export", Description: "Export the knowledge graph as JSON, DOT, markdown files or a Logseq graph"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in exportIn) (*mcp.CallToolResult, map[string]any, error) {
			g, err := b.Export(ctx, in.Graph)
			if err != nil {
				return nil, nil, err
			}
			if err := fitsOneAnswer(g); err != nil {
				return nil, nil, err
			}
			var out map[string]any
			switch in.Format {
			case "json":
				out = map[string]any{"format": "json", "graph": g}
			case "dot":
				out = map[string]any{"format": "dot", "dot": render.DOT(g)}
			case "markdown", "logseq":
				write := render.MarkdownFiles
				if in.Format == "logseq" {
					write = render.ExportLogseq
				}
				files := map[string]string{}
				for k, v := range write(g) {
					files[k] = string(v)
				}
				out = map[string]any{"format": in.Format, "files": files}
			}
			if out != nil {
				return nil, out, answerFits(out)
			}
			return nil, nil, &kogral.InputError{Msg: fmt.Sprintf("format %q: want json, dot, markdown or logseq", in.Format)}
		})
}

// addWriteTools registers the tools that write: add_note, add_decision,
// link and add_execution.
func addWriteTools(s *mcp.Server, b kogral.Backend, project string) {
	graphOr := func(g string) string {
		if g == "" {
			return project
		}
		return g
	}
	mcp.AddTool(s, &mcp.Tool{Name: "add_note", Description: "Add a note to the knowledge graph"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in addNoteIn) (*mcp.CallToolResult, kogral.Node, error) {
			n, err := b.CreateNode(ctx, kogral.NodeInput{NodeType: "Note", Title: in.Title, Content: in.Content, Tags: in.Tags, GraphID: graphOr(in.Graph)})
			return nil, n, err
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add_decision", Description: "Record an architectural decision (ADR: context, decision, consequences, status)"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in addDecisionIn) (*mcp.CallToolResult, kogral.Node, error) {
			n, err := kogral.AddDecision(ctx, b, graphOr(in.Graph), in.Title, kogral.ADR{Context: in.Context, Decision: in.Decision,
				Consequences: in.Consequences, Status: in.Status, Supersedes: in.Supersedes,
				Alternatives: in.Alternatives, RelatedDecisions: in.Related}, in.Tags)
			return nil, n, err
		})
	mcp.AddTool(s, &mcp.Tool{Name: "link", Description: "Create a relationship between two nodes"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in linkIn) (*mcp.CallToolResult, kogral.Edge, error) {
			e, err := b.Link(ctx, kogral.Edge{Source: in.Source, Target: in.Target, Relation: in.Relation, Weight: in.Weight})
			return nil, e, err
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add_execution", Description: "Record an agent's execution of a task as an Execution node"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in kogral.ExecutionInput) (*mcp.CallToolResult, kogral.Node, error) {
			n, err := kogral.AddExecution(ctx, b, graphOr(in.Graph), in)
			return nil, n, err
		})
}

// addResources registers the seed's six resources.
func addResources(s *mcp.Server, b kogral.Backend, project string) {
	resource := func(uri, name, desc string, read func(ctx context.Context) (any, error)) {
		s.AddResource(&mcp.Resource{URI: uri, Name: name, Description: desc, MIMEType: "application/json"},
			func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
				v, err := read(ctx)
				if err != nil {
					return nil, err
				}
				raw, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return nil, err
				}
				return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(raw)}}}, nil
			})
	}
	nodesOf := func(graph, typ string) func(ctx context.Context) (any, error) {
		return func(ctx context.Context) (any, error) {
			list, err := b.ListNodes(ctx, kogral.Filter{GraphID: graph, NodeType: typ})
			return kogral.Within(list, kogral.MaxToolAnswerBytes), err
		}
	}
	resource("kogral://project/notes", "Project Notes", "All notes in the current project", nodesOf(project, "Note"))
	resource("kogral://project/decisions", "Project Decisions", "All ADRs in the current project", nodesOf(project, "Decision"))
	resource("kogral://project/guidelines", "Project Guidelines", "Effective guidelines (with inheritance)",
		func(ctx context.Context) (any, error) {
			gl, err := b.Guidelines(ctx, project)
			return kogral.Within(gl, kogral.MaxToolAnswerBytes), err
		})
	resource("kogral://project/patterns", "Project Patterns", "All patterns in the current project", nodesOf(project, "Pattern"))
	resource("kogral://shared/guidelines", "Shared Guidelines", "Organization-wide guidelines", nodesOf(kogral.SharedGraph, "Guideline"))
	resource("kogral://shared/patterns", "Shared Patterns", "Organization-wide patterns", nodesOf(kogral.SharedGraph, "Pattern"))

}

// addPrompts registers summarize_project and find_related.
func addPrompts(s *mcp.Server, b kogral.Backend, project string) {
	s.AddPrompt(&mcp.Prompt{Name: "summarize_project", Description: "Summarize project knowledge"},
		func(ctx context.Context, _ *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			nodes, err := b.ListNodes(ctx, kogral.Filter{GraphID: project, Limit: 200})
			if err != nil {
				return nil, err
			}
			var sb strings.Builder
			fmt.Fprintf(&sb, "Summarize the knowledge of project %q: its decisions, guidelines, patterns and open questions.\n\n", project)
			for _, n := range nodes {
				fmt.Fprintf(&sb, "- [%s] %s (%s)\n", n.NodeType, n.Title, n.ID)
			}
			return &mcp.GetPromptResult{Description: "Summarize project knowledge",
				Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: sb.String()}}}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "find_related", Description: "Find related knowledge for a topic",
		Arguments: []*mcp.PromptArgument{{Name: "topic", Description: "what to find knowledge about", Required: true}}},
		func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			topic := strings.TrimSpace(req.Params.Arguments["topic"])
			if topic == "" {
				return nil, &kogral.InputError{Msg: "topic: required"}
			}
			hits, err := b.Search(ctx, kogral.SearchQuery{Query: topic, Semantic: true, Filter: kogral.Filter{Limit: 10}})
			if err != nil {
				return nil, err
			}
			var sb strings.Builder
			fmt.Fprintf(&sb, "Here is what the knowledge graph holds about %q. Explain how it relates and what is missing.\n\n", topic)
			for _, h := range hits {
				fmt.Fprintf(&sb, "## %s (%s, %s)\n\n%s\n\n", h.Node.Title, h.Node.NodeType, h.Node.ID, kogral.Truncate(h.Node.Content, 600))
			}
			return &mcp.GetPromptResult{Description: "Related knowledge for " + topic,
				Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: sb.String()}}}}, nil
		})
}

// Handler serves the server over streamable HTTP, stateless and with
// JSON responses, so that each request stands alone (a Lambda invocation).
func Handler(s *mcp.Server) http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
}

// An export tool call answers at once only for a small graph (as
// kogral-api's GET /export), so that its answer fits Lambda's 6 MB; a larger
// one is an export job's (kogral-api's POST /exports). The check follows the
// export: the graph is read from the function's in-memory index first.
const toolExportItems = 2000

func fitsOneAnswer(g kogral.Subgraph) error {
	if items := len(g.Nodes) + len(g.Edges); items > toolExportItems {
		return fmt.Errorf("this export holds %d nodes and edges, above the %d the export tool answers: "+
			"export it as a job with kogral-api's POST /exports (stratum kogral export)", items, toolExportItems)
	}
	return nil
}

// answerFits refuses an export whose answer, as rendered, passes a tool's
// share of the answer budget (kogral.MaxToolAnswerBytes).
func answerFits(out map[string]any) error {
	if size := httpapi.PayloadSize(out); size > kogral.MaxToolAnswerBytes {
		return fmt.Errorf("this export's answer would be %d bytes, above the %d the export tool answers: "+
			"export it as a job with kogral-api's POST /exports (stratum kogral export)", size, kogral.MaxToolAnswerBytes)
	}
	return nil
}
