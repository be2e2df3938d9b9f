package kogral_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/mcpserver"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// The MCP tools the seed's integrations call: add_decision with
// alternatives and related decisions, get_guidelines by topic, with or
// without the shared ones, and add_execution.
func TestMCPDecisionsGuidelinesExecutions(t *testing.T) {
	ctx := context.Background()
	s := kogral.NewTestStore(t)
	for _, in := range []kogral.NodeInput{
		{ID: "shared.logs", NodeType: "Guideline", Title: "Logging", GraphID: kogral.SharedGraph, Metadata: map[string]any{"topic": "logs"}},
		{ID: "shared.review", NodeType: "Guideline", Title: "Code review checklist", GraphID: kogral.SharedGraph, Tags: []string{"code-review"}},
		{ID: "web.review", NodeType: "Guideline", Title: "Review web changes", GraphID: "web", Metadata: map[string]any{"topic": "code-review"}},
		{ID: "web.old-adr", NodeType: "Decision", Title: "Use Postgres", GraphID: "web"},
	} {
		if _, err := s.CreateNode(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	ct, st := mcp.NewInMemoryTransports()
	go func() { _ = mcpserver.NewServer(s, "web").Run(ctx, st) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	call := func(name string, args map[string]any) (map[string]any, bool) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, _ := res.StructuredContent.(map[string]any)
		return out, res.IsError
	}
	adr, isErr := call("add_decision", map[string]any{"title": "Use SurrealDB", "context": "c", "decision": "d", "consequences": "e",
		"alternatives":      []map[string]any{{"title": "Postgres", "pros": []string{"known"}, "cons": []string{"no graph"}, "why_not_chosen": "joins"}},
		"related_decisions": []string{"web.old-adr"}})
	if isErr || !strings.Contains(fmt.Sprint(adr["content"]), "### Postgres") {
		t.Fatalf("add_decision: %v", adr)
	}
	if e, _ := s.Edges(ctx, fmt.Sprint(adr["id"]), kogral.DirectionOut); len(e) != 1 || e[0].Target != "web.old-adr" || e[0].Relation != "RelatesTo" {
		t.Fatalf("related decision not linked: %+v", e)
	}
	if _, isErr := call("add_decision", map[string]any{"title": "X", "context": "c", "decision": "d", "consequences": "e",
		"alternatives": []map[string]any{{"title": ""}}}); !isErr {
		t.Fatal("an alternative without a title was accepted")
	}
	ids := func(out map[string]any) []string {
		var list []string
		for _, g := range out["guidelines"].([]any) {
			list = append(list, g.(map[string]any)["node"].(map[string]any)["id"].(string))
		}
		sort.Strings(list)
		return list
	}
	if got, _ := call("get_guidelines", map[string]any{"topic": "code-review", "include_shared": true}); !slices.Equal(ids(got), []string{"shared.review", "web.review"}) {
		t.Fatalf("code-review with shared: %v", ids(got))
	}
	if got, _ := call("get_guidelines", map[string]any{"topic": "code-review", "include_shared": false}); !slices.Equal(ids(got), []string{"web.review"}) {
		t.Fatalf("code-review without shared: %v", ids(got))
	}
	if got, _ := call("get_guidelines", map[string]any{"topic": "LOGS"}); !slices.Equal(ids(got), []string{"shared.logs"}) {
		t.Fatalf("logs (include_shared by default): %v", ids(got))
	}
	exec, isErr := call("add_execution", map[string]any{"task_id": "T-42", "agent_role": "developer", "status": "completed",
		"duration_ms": 900, "tokens_used": 1234, "output_summary": "Added the endpoint."})
	meta, _ := exec["metadata"].(map[string]any)
	if isErr || exec["node_type"] != "Execution" || exec["graph_id"] != "web" || meta["task_id"] != "T-42" || meta["tokens_used"] != float64(1234) {
		t.Fatalf("add_execution: %v", exec)
	}
	if _, isErr := call("add_execution", map[string]any{"task_id": "T-43", "agent_role": "developer", "status": " "}); !isErr {
		t.Fatal("add_execution without a status was accepted")
	}
	for _, limit := range []int{-1, 1001} {
		if _, isErr := call("search", map[string]any{"query": "review", "limit": limit}); !isErr {
			t.Fatalf("search with limit %d was accepted", limit)
		}
	}
	if got, isErr := call("search", map[string]any{"query": "review", "limit": 1}); isErr || len(got["hits"].([]any)) != 1 {
		t.Fatalf("search with limit 1: %v", got)
	}
}

// The export tool answers a small graph at once and refuses a large one,
// naming the export job instead (an answer must fit Lambda's 6 MB).
func TestMCPExportToolIsForSmallGraphs(t *testing.T) {
	ctx := context.Background()
	s := kogral.NewTestStore(t)
	big := strings.Repeat("x", 900<<10)
	for i := range 6 {
		if _, err := s.CreateNode(ctx, kogral.NodeInput{ID: fmt.Sprintf("web.n%d", i), NodeType: "Note", Title: "Note", Content: big, GraphID: "web"}); err != nil {
			t.Fatal(err)
		}
	}
	ct, st := mcp.NewInMemoryTransports()
	go func() { _ = mcpserver.NewServer(s, "web").Run(ctx, st) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "export", Arguments: map[string]any{"graph": "web", "format": "json"}})
	if err != nil {
		t.Fatal(err)
	}
	text := ""
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if !res.IsError || !strings.Contains(text, "POST /exports") {
		t.Fatalf("a 5.3 MiB export through the tool: error %v, %q", res.IsError, text)
	}
	for _, id := range []string{"web.n1", "web.n2", "web.n3", "web.n4", "web.n5"} {
		if err := s.DeleteNode(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "export", Arguments: map[string]any{"graph": "web", "format": "json"}}); err != nil || res.IsError {
		t.Fatalf("a 0.9 MiB export through the tool: %v %+v", err, res)
	}
}

// sizeRecorder is an HTTP transport that remembers the largest body it read.
type sizeRecorder struct{ largest int }

func (r *sizeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if escaped, _ := json.Marshal(string(body)); len(escaped) > r.largest { // as a Lambda payload carries it
		r.largest = len(escaped)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// A tool's answer over streamable HTTP fits one Lambda response though the
// SDK sends it twice (structured, and as text): a search whose hits hold
// eight nodes of 1 MB full of quotes, and the largest export the tool takes.
func TestMCPAnswersFitOneLambdaResponse(t *testing.T) {
	ctx := context.Background()
	s := kogral.NewTestStore(t)
	quoted := strings.Repeat(`say "needle" `, (1<<20)/13)
	for i := range 8 {
		if _, err := s.CreateNode(ctx, kogral.NodeInput{ID: fmt.Sprintf("web.q%d", i), NodeType: "Note", Title: "Needle", Content: quoted, GraphID: "web"}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(mcpserver.Handler(mcpserver.NewServer(s, "web")))
	defer srv.Close()
	rec := &sizeRecorder{}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: &http.Client{Transport: rec}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "needle", "limit": 8}})
	if err != nil || res.IsError {
		t.Fatalf("search: %v %+v", err, res)
	}
	hits, _ := res.StructuredContent.(map[string]any)["hits"].([]any)
	if len(hits) == 0 || len(hits) == 8 || rec.largest > httpapi.LambdaMaxResponse-64<<10 {
		t.Fatalf("search: %d hits in a body of %d bytes as a payload (Lambda's limit %d)", len(hits), rec.largest, httpapi.LambdaMaxResponse)
	}
}
