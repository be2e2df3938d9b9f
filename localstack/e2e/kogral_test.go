package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/kogral/client"
	"github.com/stratumiops/stratumiops/shared/kogral/execution"
	"github.com/stratumiops/stratumiops/shared/kogral/files"
)

// apiKeyTransport authenticates every request of an MCP client.
type apiKeyTransport struct{ key string }

func (t apiKeyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-API-Key", t.key)
	return http.DefaultTransport.RoundTrip(r)
}

// exerciseMCP is what any MCP client would do: list everything, call every
// tool, read every resource, get every prompt, and send bad arguments.
func exerciseMCP(t *testing.T, cs *mcp.ClientSession, run string) {
	t.Helper()
	ctx := context.Background()
	var tools []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		tools = append(tools, tool.Name)
		if tool.InputSchema == nil {
			t.Errorf("tool %s has no input schema", tool.Name)
		}
	}
	slices.Sort(tools)
	if want := []string{"add_decision", "add_execution", "add_note", "export", "get_guidelines", "link", "list_graphs", "search"}; !slices.Equal(tools, want) {
		t.Fatalf("tools %v", tools)
	}
	call := func(name string, args map[string]any) map[string]any {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.IsError {
			t.Fatalf("%s: tool error %v", name, res.Content)
		}
		raw, _ := json.Marshal(res.StructuredContent)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return out
	}
	note := call("add_note", map[string]any{"title": "Retry policy " + run, "content": "Retry idempotent calls with exponential backoff and jitter.", "tags": []string{"resilience"}})
	first := call("add_decision", map[string]any{"title": "Retry budget " + run, "context": "c", "decision": "d", "consequences": "e"})
	adr := call("add_decision", map[string]any{"title": "Adopt backoff " + run, "context": "Clients hammer the API on failure.",
		"decision": "Use exponential backoff.", "consequences": "Slower recovery, calmer servers.", "status": "accepted",
		"alternatives": []map[string]any{{"title": "Fixed delay", "pros": []string{"simple"}, "cons": []string{"thundering herd"},
			"why_not_chosen": "synchronised retries"}},
		"related_decisions": []string{fmt.Sprint(first["id"])}})
	if adr["node_type"] != "Decision" || !strings.Contains(adr["content"].(string), "## Consequences") ||
		!strings.Contains(adr["content"].(string), "### Fixed delay") {
		t.Fatalf("add_decision: %v", adr)
	}
	if meta, _ := adr["metadata"].(map[string]any); meta == nil || len(meta["alternatives"].([]any)) != 1 || len(meta["related_decisions"].([]any)) != 1 {
		t.Fatalf("add_decision metadata: %v", adr["metadata"])
	}
	exec := call("add_execution", map[string]any{"task_id": "task-" + run, "agent_role": "reviewer", "status": "completed",
		"duration_ms": 1500, "tokens_used": 3200, "output_summary": "Two findings."})
	if exec["node_type"] != "Execution" || exec["metadata"].(map[string]any)["tokens_used"] != float64(3200) {
		t.Fatalf("add_execution: %v", exec)
	}
	call("link", map[string]any{"source": adr["id"], "target": note["id"], "relation": "implements"})
	hits := call("search", map[string]any{"query": "backoff jitter", "semantic": true})["hits"].([]any)
	if len(hits) == 0 {
		t.Fatal("search found nothing")
	}
	call("get_guidelines", map[string]any{})
	if gl := call("get_guidelines", map[string]any{"topic": "no-such-topic-" + run, "include_shared": true})["guidelines"].([]any); len(gl) != 0 {
		t.Fatalf("get_guidelines about nothing: %v", gl)
	}
	if gs := call("list_graphs", map[string]any{})["graphs"].([]any); len(gs) == 0 {
		t.Fatal("list_graphs: none")
	}
	// The note's graph: every graph the key reads holds what the whole suite wrote, more than the tool answers.
	if dot := call("export", map[string]any{"format": "dot", "graph": note["graph_id"]})["dot"].(string); !strings.Contains(dot, fmt.Sprint(note["id"])) {
		t.Fatal("export dot lacks the note")
	}
	var uris []string
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		uris = append(uris, r.URI)
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: r.URI})
		if err != nil || len(res.Contents) != 1 || !json.Valid([]byte(res.Contents[0].Text)) {
			t.Fatalf("read %s: %v", r.URI, err)
		}
	}
	if len(uris) != 6 || !slices.Contains(uris, "kogral://shared/patterns") {
		t.Fatalf("resources %v", uris)
	}
	var prompts []string
	for p, err := range cs.Prompts(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		prompts = append(prompts, p.Name)
	}
	if len(prompts) != 2 {
		t.Fatalf("prompts %v", prompts)
	}
	if p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "summarize_project"}); err != nil || len(p.Messages) != 1 {
		t.Fatalf("summarize_project: %v", err)
	}
	p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "find_related", Arguments: map[string]string{"topic": "backoff"}})
	if err != nil || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, "Adopt backoff") {
		t.Fatalf("find_related: %v %v", p, err)
	}
	// Bad arguments are MCP errors; the server keeps serving.
	for name, args := range map[string]map[string]any{
		"search":   {"query": 42},
		"add_note": {"content": "no title"},
		"link":     {"source": note["id"], "target": "no-such-node-" + run, "relation": "RelatesTo"},
		"export":   {"format": "pdf"},
		"add_decision": {"title": "No-title alternative " + run, "context": "c", "decision": "d", "consequences": "e",
			"alternatives": []map[string]any{{"pros": []string{"x"}}}},
		"add_execution": {"task_id": "t", "status": "done"},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err == nil && !res.IsError {
			t.Errorf("%s with %v: no error", name, args)
		}
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "find_related"}); err == nil {
		t.Error("find_related without a topic: no error")
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_graphs", Arguments: map[string]any{}}); err != nil {
		t.Fatalf("after bad calls: %v", err)
	}
}

// stratumCLI runs the stratum binary the suite built.
func stratumCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(dev.bin, append([]string{"kogral", "--dir", dir, "--api", ep.Gateways["kogral"]}, args...)...)
	cmd.Env = append(os.Environ(), "KOGRAL_API_KEY="+ep.APIKey)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestKogral(t *testing.T) {
	base := ep.Gateways["kogral"]
	if base == "" || ep.APIKey == "" {
		t.Skip("no kogral gateway with devstack credentials")
	}
	run := strings.ToLower(unique("k"))
	graph := "demo." + run // the dev key's scope owns the graphs named demo and demo.*

	t.Run("MCP over streamable HTTP through the gateway", func(t *testing.T) {
		client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: base + "/mcp",
			HTTPClient: &http.Client{Transport: apiKeyTransport{key: ep.APIKey}}, MaxRetries: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		exerciseMCP(t, cs, run+"-http")
	})

	t.Run("MCP over stdio (stratum kogral serve)", func(t *testing.T) {
		if dev == nil {
			t.Skip("no stratum binary")
		}
		cmd := exec.Command(dev.bin, "kogral", "serve", "--api", base, "--project", "demo")
		cmd.Env = append(os.Environ(), "KOGRAL_API_KEY="+ep.APIKey)
		client := mcp.NewClient(&mcp.Implementation{Name: "e2e-stdio", Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		exerciseMCP(t, cs, run+"-stdio")
	})

	t.Run("HTTP API bad input", func(t *testing.T) {
		call := func(method, path, body string) response {
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			req.Header.Set("X-API-Key", ep.APIKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			r := response{Status: res.StatusCode, Body: map[string]any{}}
			_ = json.NewDecoder(res.Body).Decode(&r.Body)
			return r
		}
		a := graph + "-api." + run + "-a"
		b := graph + "-api." + run + "-b"
		for _, id := range []string{a, b} {
			if r := call("POST", "/nodes", fmt.Sprintf(`{"id":%q,"node_type":"note","title":%q,"content":"x","graph_id":%q}`, id, id, graph+"-api")); r.Status != 201 {
				t.Fatalf("create %s: %d %v", id, r.Status, r.Body)
			}
		}
		// A cycle: path search still ends.
		call("POST", "/edges", fmt.Sprintf(`{"source":%q,"target":%q,"relation":"depends_on"}`, a, b))
		call("POST", "/edges", fmt.Sprintf(`{"source":%q,"target":%q,"relation":"relates_to"}`, b, a))
		if r := call("GET", "/path?from="+a+"&to="+b, ""); r.Status != 200 || len(r.Body["nodes"].([]any)) != 2 {
			t.Fatalf("path in a cycle: %d %v", r.Status, r.Body)
		}
		if r := call("GET", "/nodes/"+a+"/connected?depth=3", ""); r.Status != 200 || len(r.Body["nodes"].([]any)) != 2 || r.Body["truncated"] != false {
			t.Fatalf("connected in a cycle: %d %v", r.Status, r.Body)
		}
		if r := call("GET", "/nodes/"+a+"/connected?depth=3&limit=1", ""); r.Status != 200 || len(r.Body["nodes"].([]any)) != 1 || r.Body["truncated"] != true {
			t.Fatalf("connected capped at 1: %d %v", r.Status, r.Body)
		}
		for dir, want := range map[string]int{"out": 1, "in": 1, "both": 2, "": 2} {
			if r := call("GET", "/nodes/"+a+"/edges?direction="+dir, ""); r.Status != 200 || len(r.Body["edges"].([]any)) != want {
				t.Fatalf("edges direction=%s: %d %v", dir, r.Status, r.Body)
			}
		}
		for _, c := range []struct {
			method, path, body string
			status             int
			want               string
		}{
			{"POST", "/nodes", `{"node_type":"essay","title":"x"}`, 400, `unknown node type "essay"`},
			{"POST", "/edges", fmt.Sprintf(`{"source":%q,"target":%q,"relation":"hates"}`, a, b), 400, `unknown relation "hates"`},
			{"POST", "/edges", fmt.Sprintf(`{"source":%q,"target":"missing-%s","relation":"relates_to"}`, a, run), 404, "not found"},
			{"GET", "/nodes/missing-" + run, "", 404, "not found"},
			{"GET", "/path?from=" + a + "&to=" + run + "-island", "", 404, "not found"},
			{"GET", "/nodes/" + a + "/connected?depth=99", "", 400, "depth"},
			{"GET", "/search?q=", "", 400, "query"},
			{"POST", "/nodes", fmt.Sprintf(`{"id":%q,"node_type":"note","title":"again","graph_id":"demo"}`, a), 409, "already exists"},
			{"GET", "/export?format=pdf", "", 400, "format"},
			{"GET", "/nodes/" + a + "/edges?direction=sideways", "", 400, `direction "sideways"`},
			{"GET", "/nodes/" + a + "/connected?depth=2&limit=0", "", 400, "limit"},
			{"POST", "/decisions", `{"title":"ADR ` + run + `","context":"c","decision":"d","consequences":"e","graph_id":"demo","alternatives":[{"pros":["x"]}]}`,
				400, "alternatives[0]: title required"},
			{"POST", "/nodes", `{"node_type":"decision","title":"x","graph_id":"demo","metadata":{"alternatives":[{"title":" "}]}}`, 400, "alternatives[0]: title required"},
		} {
			r := call(c.method, c.path, c.body)
			if r.Status != c.status || !strings.Contains(errorMessage(r), c.want) {
				t.Errorf("%s %s: %d %q, want %d with %q", c.method, c.path, r.Status, errorMessage(r), c.status, c.want)
			}
		}
		res, err := http.Get(base + "/nodes")
		if err != nil || res.StatusCode != 401 {
			t.Errorf("no credentials: %v %v", res, err)
		}
		if res != nil {
			res.Body.Close()
		}
	})

	t.Run("CLI: Logseq import and markdown export lose no link; sync both ways", func(t *testing.T) {
		if dev == nil {
			t.Skip("no stratum binary")
		}
		project := t.TempDir()
		if out, err := stratumCLI(t, project, "init", "--graph", graph); err != nil {
			t.Fatalf("init: %v\n%s", err, out)
		}
		logseq := filepath.Join(t.TempDir(), "brain")
		for rel, body := range map[string]string{
			"pages/Payments.md":         "type:: decision\n\n- Depends on [[Ledger]] and [[Fraud Checks]]\n  - reviewed with [[Security Team]]\n",
			"pages/Ledger.md":           "- Double-entry, see [[Payments]]\n- TODO archive old entries\n",
			"pages/Fraud Checks.md":     "tags:: security\n\n- Runs before [[Payments]] settle\n",
			"journals/2026_11_25.md":    "- Met about [[Ledger]] #planning\n",
			"pages/infra%2Fpostgres.md": "- hosts [[Ledger]]\n",
		} {
			p := filepath.Join(logseq, filepath.FromSlash(rel))
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, _, err := files.ImportLogseq(logseq, graph)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := stratumCLI(t, project, "import", logseq); err != nil || !strings.Contains(out, fmt.Sprintf("%d edges", len(want.Edges))) {
			t.Fatalf("import: %v\n%s", err, out)
		}
		exported := t.TempDir()
		if out, err := stratumCLI(t, project, "export", "markdown", "--out", exported, "--graph", graph); err != nil {
			t.Fatalf("export: %v\n%s", err, out)
		}
		back, err := files.ReadFolder(exported, graph)
		if err != nil {
			t.Fatal(err)
		}
		edgeSet := func(g kogral.Subgraph) []string {
			var out []string
			for _, e := range g.Edges {
				out = append(out, e.Source+" -"+e.Relation+"-> "+e.Target)
			}
			slices.Sort(out)
			return out
		}
		if w, b := edgeSet(want), edgeSet(back); !slices.Equal(w, b) || len(w) < 7 {
			t.Fatalf("links before %v\nafter %v", w, b)
		}
		if out, err := stratumCLI(t, project, "graph", "--connected", graph+".ledger", "--depth", "1"); err != nil ||
			!strings.Contains(out, fmt.Sprintf(`"%s.payments" -> "%s.ledger"`, graph, graph)) {
			t.Fatalf("graph --connected: %v\n%s", err, out)
		}
		if out, err := stratumCLI(t, project, "search", "--type", "decision", "ledger"); err != nil || !strings.Contains(out, "payments") {
			t.Fatalf("search: %v\n%s", err, out)
		}

		blocks, err := client.NewClient(base, "X-API-Key", ep.APIKey).Blocks(context.Background(), graph+".ledger")
		if err != nil || len(blocks) != 2 || blocks[1].TaskStatus != "TODO" || blocks[0].References[0] != "Payments" {
			t.Fatalf("blocks of ledger: %+v %v", blocks, err)
		}

		// sync: add through the CLI, change the file → pushed; change the graph → pulled; both → conflict.
		if out, err := stratumCLI(t, project, "add", "note", "Runbook "+run, "-m", "Step one."); err != nil {
			t.Fatalf("add: %v\n%s", err, out)
		}
		id := graph + "." + kogral.Slug("Runbook "+run) // ids the server makes: <graph>.<slug>
		file := filepath.Join(project, ".kogral", "notes", id+".md")
		if out, err := stratumCLI(t, project, "sync"); err != nil {
			t.Fatalf("first sync: %v\n%s", err, out)
		}
		src, _ := os.ReadFile(file)
		_ = os.WriteFile(file, []byte(strings.Replace(string(src), "Step one.", "Step one, edited locally.", 1)), 0o644)
		if out, err := stratumCLI(t, project, "sync"); err != nil || !strings.Contains(out, "pushed 1") {
			t.Fatalf("push: %v\n%s", err, out)
		}
		c := client.NewClient(base, "X-API-Key", ep.APIKey)
		n, err := c.GetNode(context.Background(), id)
		if err != nil || !strings.Contains(n.Content, "edited locally") {
			t.Fatalf("after push: %+v %v", n, err)
		}
		if _, err := c.UpdateNode(context.Background(), id, kogral.NodeInput{NodeType: "Note", Title: n.Title, Content: "Edited in the graph.", GraphID: graph}); err != nil {
			t.Fatal(err)
		}
		if out, err := stratumCLI(t, project, "sync"); err != nil || !strings.Contains(out, "pulled 1") {
			t.Fatalf("pull: %v\n%s", err, out)
		}
		if src, _ := os.ReadFile(file); !strings.Contains(string(src), "Edited in the graph.") {
			t.Fatalf("pulled file:\n%s", src)
		}
		src, _ = os.ReadFile(file)
		_ = os.WriteFile(file, []byte(strings.Replace(string(src), "Edited in the graph.", "Local edit.", 1)), 0o644)
		if _, err := c.UpdateNode(context.Background(), id, kogral.NodeInput{NodeType: "Note", Title: n.Title, Content: "Remote edit.", GraphID: graph}); err != nil {
			t.Fatal(err)
		}
		if out, err := stratumCLI(t, project, "sync"); err == nil || !strings.Contains(out, "conflict: "+id) {
			t.Fatalf("conflict: %v\n%s", err, out)
		}
		if src, _ := os.ReadFile(file); !strings.Contains(string(src), "Local edit.") {
			t.Fatal("a conflict overwrote the file")
		}
		_ = os.WriteFile(file, []byte("---\nid: "+id+"\ntitle: [broken\n---\n"), 0o644)
		if out, err := stratumCLI(t, project, "sync"); err == nil || !strings.Contains(out, filepath.Join("notes", id+".md")+":") {
			t.Fatalf("broken frontmatter: %v\n%s", err, out)
		}
	})

	t.Run("export job: the synchronous export's graph, with its progress, through the bus", func(t *testing.T) {
		c := client.NewClient(base, "X-API-Key", ep.APIKey)
		exp := graph + "-exp"
		for i := range 40 {
			id := fmt.Sprintf("%s.exp-%02d", exp, i)
			if _, err := c.CreateNode(context.Background(), kogral.NodeInput{ID: id, NodeType: "Note", Title: "Export " + id, Content: "x", GraphID: exp}); err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				if _, err := c.Link(context.Background(), kogral.Edge{Source: id, Target: fmt.Sprintf("%s.exp-%02d", exp, i-1), Relation: "RelatesTo"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		var seen []client.ExportStatus
		data, err := c.ExportJob(context.Background(), exp, "json", func(s client.ExportStatus) { seen = append(seen, s) })
		if err != nil {
			t.Fatal(err)
		}
		last := seen[len(seen)-1]
		if seen[0].Status != "queued" || last.Status != "succeeded" || last.Done != 79 || last.Total != 79 || last.Parts != 1 {
			t.Fatalf("job states %+v", seen)
		}
		var got kogral.Subgraph
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		want, err := c.SmallExport(context.Background(), exp)
		if err != nil {
			t.Fatal(err)
		}
		ids := func(g kogral.Subgraph) []string {
			var out []string
			for _, n := range g.Nodes {
				out = append(out, n.ID)
			}
			for _, e := range g.Edges {
				out = append(out, e.Source+">"+e.Target)
			}
			slices.Sort(out)
			return out
		}
		if !slices.Equal(ids(got), ids(want)) || len(got.Nodes) != 40 {
			t.Fatalf("job %v\nsynchronous %v", ids(got), ids(want))
		}
		dot, err := c.ExportJob(context.Background(), exp, "dot", nil)
		if err != nil || !strings.Contains(string(dot), fmt.Sprintf(`"%s.exp-01" -> "%s.exp-00"`, exp, exp)) {
			t.Fatalf("dot: %v\n%s", err, dot)
		}
	})

	t.Run("a Vapora execution becomes an Execution node of its project", func(t *testing.T) {
		b := connectBus(t)
		agent := "agent-k"
		ev := events.ExecutionRecorded{ID: "vapora-" + run, Project: "prj_" + run, Scope: "demo", Source: "vapora", TaskType: "review", AgentID: &agent,
			Status: "success", DurationMs: 1200, OccurredAt: time.Now().UTC()}
		if _, err := b.Publish(ctx(t), events.SubjectExecutionRecorded, ev.ID, ev, nil); err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(base, "X-API-Key", ep.APIKey)
		eventually(t, "the execution node", 10*time.Second, func() bool {
			edges, err := c.Edges(context.Background(), execution.ExecutionNodeID("demo", ev.ID), kogral.DirectionOut)
			return err == nil && len(edges) == 1 && edges[0].Target == execution.ProjectNodeID("demo", ev.Project)
		})
		if n, err := c.GetNode(context.Background(), execution.ExecutionNodeID("demo", ev.ID)); err != nil || n.GraphID != execution.ExecutionGraph("demo", ev.Project) {
			t.Fatalf("the execution node: %+v %v", n, err)
		}
		// Another tenant does not see it.
		globex := client.NewClient(base, "Authorization", "Bearer "+systemToken(t, "kogral", "mallory", "globex"))
		if _, err := globex.GetNode(context.Background(), execution.ExecutionNodeID("demo", ev.ID)); !errors.As(err, new(*kogral.NotFoundError)) {
			t.Fatalf("globex reads demo's execution: %v", err)
		}
	})
}

// Kogral through the gateway: a caller reads and writes only its scopes'
// graphs, over the API and every MCP tool and resource; the shared graph is
// read by all and written by kogral-admin only; tokens of other systems are refused.
func TestKogralScopes(t *testing.T) {
	base := ep.Gateways["kogral"]
	if base == "" || ep.JWTSecret == "" {
		t.Skip("no kogral gateway with devstack credentials")
	}
	bg := context.Background()
	run := strings.ToLower(unique("ks"))
	demo := client.NewClient(base, "X-API-Key", ep.APIKey)
	globex := client.NewClient(base, "Authorization", "Bearer "+systemToken(t, "kogral", "mallory", "globex"))
	admin := client.NewClient(base, "Authorization", "Bearer "+systemToken(t, "kogral", "ops", apifn.AdminScope))
	secret, err := demo.CreateNode(bg, kogral.NodeInput{ID: "demo." + run + ".secret", NodeType: "Note", Title: "Quokka payroll " + run, Content: "x", GraphID: "demo." + run})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := globex.GetNode(bg, secret.ID); !errors.As(err, new(*kogral.NotFoundError)) {
		t.Errorf("globex reads demo's node: %v", err)
	}
	if hits, err := globex.Search(bg, kogral.SearchQuery{Query: "quokka " + run}); err != nil || len(hits) != 0 {
		t.Errorf("globex finds demo's node: %v %v", hits, err)
	}
	if g, err := globex.Export(bg, ""); err != nil || strings.Contains(fmt.Sprint(g.Nodes), secret.ID) {
		t.Errorf("globex exports demo's node: %v", err)
	}
	// Export jobs: the caller that reads the graph follows its job to the
	// result; another scope may not read the job (403); an unknown job is a 404.
	jobID := ""
	data, err := demo.ExportJob(bg, "demo."+run, "json", func(s client.ExportStatus) { jobID = s.ID })
	var exported kogral.Subgraph
	if err != nil || json.Unmarshal(data, &exported) != nil || len(exported.Nodes) != 1 || exported.Nodes[0].ID != secret.ID {
		t.Fatalf("demo's export job: %v %s", err, data)
	}
	status := func(header, value, path string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set(header, value)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	globexAuth := "Bearer " + systemToken(t, "kogral", "mallory", "globex")
	for path, want := range map[string]int{"/exports/" + jobID: 403, "/exports/" + jobID + "/result": 403} {
		if got := status("Authorization", globexAuth, path); got != want {
			t.Errorf("globex GET %s: %d, want %d", path, got, want)
		}
	}
	if got := status("X-API-Key", ep.APIKey, "/exports/exp-20261130-000000-aaaaaaaaaaaaaaaa"); got != 404 {
		t.Errorf("an unknown export job: %d", got)
	}
	if _, err := globex.ExportJob(bg, "demo."+run, "json", nil); !errors.As(err, new(*kogral.NotFoundError)) {
		t.Errorf("globex exports demo's graph: %v", err)
	}
	if _, err := globex.CreateNode(bg, kogral.NodeInput{NodeType: "Note", Title: "planted", GraphID: "demo"}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("globex writes demo's graph: %v", err)
	}
	// Node ids lie in their graph's scope: globex cannot take one of demo's
	// ids, in its own graph or by an import (400, before any lookup), and
	// gets the same answer for demo's ids whether they exist or not.
	taken := kogral.Node{ID: "demo." + run + ".kubernetes", NodeType: "Note", Title: "squat", GraphID: "globex"}
	if _, err := globex.CreateNode(bg, kogral.NodeInput{ID: taken.ID, NodeType: "Note", Title: "squat", GraphID: "globex"}); !errors.As(err, new(*kogral.InputError)) {
		t.Errorf("globex creates one of demo's ids: %v", err)
	}
	if _, err := globex.Import(bg, kogral.Subgraph{Nodes: []kogral.Node{taken}}); !errors.As(err, new(*kogral.InputError)) {
		t.Errorf("globex imports one of demo's ids: %v", err)
	}
	taken.GraphID, taken.Title = "demo."+run, "Kubernetes"
	if res, err := demo.Import(bg, kogral.Subgraph{Nodes: []kogral.Node{taken}}); err != nil || res.Nodes != 1 || len(res.Conflicts) != 0 {
		t.Errorf("demo imports its id: %+v %v", res, err)
	}
	mine, err := globex.CreateNode(bg, kogral.NodeInput{NodeType: "Note", Title: "Mine " + run, GraphID: "globex"})
	if err != nil || !strings.HasPrefix(mine.ID, "globex.") {
		t.Fatalf("globex's own node: %+v %v", mine, err)
	}
	var answers []string
	for _, id := range []string{secret.ID, "demo." + run + ".missing"} {
		_, linkErr := globex.Link(bg, kogral.Edge{Source: mine.ID, Target: id, Relation: "RelatesTo"})
		_, importErr := globex.Import(bg, kogral.Subgraph{Edges: []kogral.Edge{{Source: id, Target: mine.ID, Relation: "RelatesTo"}}})
		_, putErr := globex.UpdateNode(bg, id, kogral.NodeInput{NodeType: "Note", Title: "mine"})
		answers = append(answers, strings.ReplaceAll(fmt.Sprint(linkErr, "|", importErr, "|", putErr), id, "ID"))
		if !errors.As(linkErr, new(*kogral.NotFoundError)) || !errors.As(importErr, new(*kogral.NotFoundError)) || !errors.As(putErr, new(*kogral.NotFoundError)) {
			t.Errorf("globex on demo's %s: %v / %v / %v, want not found", id, linkErr, importErr, putErr)
		}
	}
	if answers[0] != answers[1] {
		t.Errorf("globex tells demo's existing node from a missing one: %q vs %q", answers[0], answers[1])
	}
	guideline := kogral.NodeInput{ID: "shared." + run + "-rule", NodeType: "Guideline", Title: "Rule " + run, Content: "Always review.", GraphID: "shared"}
	if _, err := demo.CreateNode(bg, guideline); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("the dev key writes the shared graph: %v", err)
	}
	if _, err := admin.CreateNode(bg, guideline); err != nil {
		t.Fatalf("kogral-admin writes the shared graph: %v", err)
	}
	if gl, err := demo.Guidelines(bg, "demo"); err != nil || !strings.Contains(fmt.Sprint(gl), guideline.ID) {
		t.Errorf("demo's guidelines lack the shared one: %v", err)
	}
	forVapora := client.NewClient(base, "Authorization", "Bearer "+systemToken(t, "vapora", "alice", "demo"))
	if _, err := forVapora.GetNode(bg, secret.ID); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("vapora's token at kogral: %v", err)
	}

	// The same over MCP, as globex.
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-globex", Version: "1"}, nil)
	cs, err := client.Connect(bg, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: bearerTransport{token: systemToken(t, "kogral", "mallory", "globex")}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for name, args := range map[string]map[string]any{
		"add_note":       {"title": "planted " + run, "content": "x", "graph": "shared"},
		"add_decision":   {"title": "planted " + run, "context": "c", "decision": "d", "consequences": "e"}, // the server's project: demo
		"add_execution":  {"task_id": "t", "agent_role": "dev", "status": "done"},
		"link":           {"source": secret.ID, "target": guideline.ID, "relation": "RelatesTo"},
		"get_guidelines": {},
		"export":         {"format": "json", "graph": "demo." + run},
	} {
		res, err := cs.CallTool(bg, &mcp.CallToolParams{Name: name, Arguments: args})
		if err == nil && !res.IsError {
			t.Errorf("globex's %s: %v", name, res.StructuredContent)
		}
	}
	res, err := cs.CallTool(bg, &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": "quokka " + run}})
	if err != nil || res.IsError || strings.Contains(fmt.Sprint(res.StructuredContent), secret.ID) {
		t.Errorf("globex's MCP search: %v %v", res, err)
	}
	if _, err := cs.ReadResource(bg, &mcp.ReadResourceParams{URI: "kogral://project/notes"}); err == nil {
		t.Error("globex reads the demo project's notes resource")
	}
	if r, err := cs.ReadResource(bg, &mcp.ReadResourceParams{URI: "kogral://shared/guidelines"}); err != nil || !strings.Contains(r.Contents[0].Text, guideline.ID) {
		t.Errorf("globex reads the shared guidelines: %v", err)
	}
}

// bearerTransport authenticates every request of an MCP client with a JWT.
type bearerTransport struct{ token string }

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return http.DefaultTransport.RoundTrip(r)
}
