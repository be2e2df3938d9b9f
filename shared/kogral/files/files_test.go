package files

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

func TestFileRoundTrip(t *testing.T) {
	n := kogral.Node{ID: "web.use-surrealdb", NodeType: "Decision", Title: "Use SurrealDB", GraphID: "web", Tags: []string{"storage"},
		Content: "# Use SurrealDB\n\n- a list\n  - nested\n\n---\n\nafter a rule", Metadata: map[string]any{"status": "Accepted"}}
	src := render.RenderFile(n, []kogral.Edge{{Source: n.ID, Target: "caching", Relation: "DependsOn", Weight: 0.5}})
	in, edges, err := ParseFile("decisions/use-surrealdb.md", src)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if in.ID != n.ID || in.NodeType != "Decision" || in.Content != n.Content || in.Metadata["status"] != "Accepted" || in.GraphID != "web" {
		t.Fatalf("round trip: %+v\n%s", in, src)
	}
	if len(edges) != 1 || edges[0].Target != "caching" || edges[0].Weight != 0.5 {
		t.Fatalf("links: %+v", edges)
	}
}

func TestFrontmatterErrorsNameFileAndLine(t *testing.T) {
	for name, c := range map[string]struct {
		src  string
		want string
	}{
		"bad yaml":       {"---\nid: default.x\ntitle: [unclosed\ntype: Note\n---\nbody\n", "notes/x.md:"},
		"no frontmatter": {"# just markdown\n", "notes/x.md:1: no frontmatter"},
		"unknown type":   {"---\nid: default.x\ntitle: X\ntype: Essay\n---\n", `unknown node type "Essay"`},
		"bad relation":   {"---\nid: default.x\ntitle: X\nlinks:\n  - {relation: Hates, target: y}\n---\n", "links[0]"},
	} {
		_, _, err := ParseFile("notes/x.md", []byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if name == "bad yaml" && pe != nil && pe.Line < 2 {
			t.Errorf("bad yaml: line %d", pe.Line)
		}
	}
}

func TestLogseqImport(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pages/Auth Service.md", "type:: guideline\ntags:: security, [[Backend]]\n\n- Tokens expire after [[Token TTL]]\n  - see [[Session Store]] #redis\n- TODO rotate keys\n")
	write("pages/Session Store.md", "- Lives in Redis, used by [[Auth Service]]\n")
	write("pages/infra%2Fdeploy.md", "- ships [[Auth Service]]\n")
	write("journals/2026_11_25.md", "- Talked about [[Auth Service]] and [[Token TTL]]\n")
	g, warnings, err := ImportLogseq(dir, "web")
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	byID := map[string]kogral.Node{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	auth := byID["web.auth-service"]
	if auth.NodeType != "Guideline" || !contains(auth.Tags, "security") || !contains(auth.Tags, "redis") {
		t.Fatalf("auth page: %+v", auth)
	}
	if byID["web.2026-11-25"].NodeType != "Journal" || byID["web.infra-deploy"].Title != "infra/deploy" {
		t.Fatalf("journal or namespaced page: %+v", g.Nodes)
	}
	if _, ok := byID["web.token-ttl"]; !ok {
		t.Fatal("a page only linked to was lost")
	}
	want := []string{"auth-service>token-ttl", "auth-service>session-store", "auth-service>backend", "session-store>auth-service",
		"infra-deploy>auth-service", "2026-11-25>auth-service", "2026-11-25>token-ttl", "auth-service>redis", "auth-service>security",
		"infra-deploy>infra"}
	have := map[string]bool{}
	for _, e := range g.Edges {
		have[strings.TrimPrefix(e.Source, "web.")+">"+strings.TrimPrefix(e.Target, "web.")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("missing link %s (have %v)", w, have)
		}
	}
	if tasks, _ := auth.Metadata["tasks"].([]any); len(tasks) != 1 || tasks[0] != "TODO" {
		t.Errorf("task markers: %v", auth.Metadata["tasks"])
	}
}

// Blocks keep their ids (id:: properties, else their position), nesting,
// properties, the seven task markers, tags, page links, block references and
// embeds, and the line each starts on.
func TestLogseqBlocks(t *testing.T) {
	src := "title:: Sprint\nowner:: [[Ana]]\n\n" +
		"- TODO write the plan #planning\n" +
		"  id:: 6571f2a0-1111-4c3a-9d1e-aaaaaaaaaaaa\n" +
		"  - DOING draft with [[Bob]]\n" +
		"    - DONE outline\n" +
		"- LATER review ((6571f2a0-1111-4c3a-9d1e-aaaaaaaaaaaa))\n" +
		"- NOW ship\n\tpriority:: high\n" +
		"- WAITING on {{embed [[Legal]]}}\n" +
		"- CANCELLED old idea\n" +
		"- {{embed ((6571F2A0-1111-4C3A-9D1E-AAAAAAAAAAAA))}}\n"
	props, blocks := logseq.ParsePage([]byte(src))
	if props["title"] != "Sprint" || props["owner"] != "[[Ana]]" {
		t.Fatalf("page properties: %v", props)
	}
	if len(blocks) != 6 {
		t.Fatalf("%d top blocks: %+v", len(blocks), blocks)
	}
	first := blocks[0]
	if first.ID != "6571f2a0-1111-4c3a-9d1e-aaaaaaaaaaaa" || first.TaskStatus != "TODO" || first.Line != 4 ||
		!slices.Equal(first.Tags, []string{"planning"}) || first.Content != "TODO write the plan #planning" {
		t.Fatalf("first block: %+v", first)
	}
	if len(first.Children) != 1 || first.Children[0].ID != "1.1" || first.Children[0].TaskStatus != "DOING" ||
		!slices.Equal(first.Children[0].References, []string{"Bob"}) || first.Children[0].Children[0].TaskStatus != "DONE" ||
		first.Children[0].Children[0].ID != "1.1.1" || first.Children[0].Children[0].Line != 7 {
		t.Fatalf("nesting: %+v", first.Children)
	}
	var states []string
	logseq.Walk(blocks, func(b kogral.Block) {
		if b.TaskStatus != "" {
			states = append(states, b.TaskStatus)
		}
	})
	slices.Sort(states)
	want := slices.Clone(logseq.TaskStates)
	slices.Sort(want)
	if !slices.Equal(states, want) {
		t.Fatalf("task markers %v, want %v", states, want)
	}
	if !slices.Equal(blocks[1].References, []string{"((6571f2a0-1111-4c3a-9d1e-aaaaaaaaaaaa))"}) || blocks[2].Properties["priority"] != "high" ||
		!slices.Equal(blocks[3].References, []string{"Legal"}) || !slices.Equal(blocks[5].References, []string{"((6571f2a0-1111-4c3a-9d1e-aaaaaaaaaaaa))"}) {
		t.Fatalf("references, properties or embeds: %+v", blocks[1:])
	}
	if b, ok := logseq.FindBlock(blocks, "1.1.1"); !ok || b.Content != "DONE outline" {
		t.Fatalf("FindBlock: %+v %v", b, ok)
	}
}

// A reference to a block no page has imports with a warning at its file
// and line; one to another page's block links the two pages.
func TestLogseqBlockReferences(t *testing.T) {
	dir := t.TempDir()
	for rel, body := range map[string]string{
		"pages/A.md": "- the rule\n  id:: 00000000-0000-4000-8000-00000000000a\n",
		"pages/B.md": "- see ((00000000-0000-4000-8000-00000000000a))\n- and\n  - ((00000000-0000-4000-8000-0000000000ff)) is gone\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, warnings, err := ImportLogseq(dir, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0].String() != "pages/B.md:3: block reference ((00000000-0000-4000-8000-0000000000ff)) matches no block of the graph: kept as text, not linked" {
		t.Fatalf("warnings: %v", warnings)
	}
	if len(g.Edges) != 1 || g.Edges[0].Source != "web.b" || g.Edges[0].Target != "web.a" {
		t.Fatalf("edges: %+v", g.Edges)
	}
}

// A decision's alternatives and related decisions are in its file's header
// and come back from it; an alternative without a title is refused.
func TestDecisionFrontmatter(t *testing.T) {
	meta := map[string]any{"status": "accepted", "related_decisions": []string{"use-nats"},
		"alternatives": []kogral.Alternative{{Title: "Kafka", Pros: []string{"mature"}, Cons: []string{"heavy", "JVM"}, WhyNotChosen: "too much to run"}}}
	in := kogral.NodeInput{ID: "default.use-surrealdb", NodeType: "Decision", Title: "Use SurrealDB", Metadata: meta, Content: "# Use SurrealDB"}
	if err := in.Check(); err != nil {
		t.Fatal(err)
	}
	src := render.RenderFile(kogral.Node{ID: in.ID, NodeType: in.NodeType, Title: in.Title, Metadata: in.Metadata, Content: in.Content, Tags: in.Tags, GraphID: in.GraphID}, nil)
	for _, want := range []string{"\nalternatives:\n  - title: Kafka\n", "why_not_chosen: too much to run", "\nrelated_decisions:\n  - use-nats\n"} {
		if !strings.Contains(string(src), want) {
			t.Fatalf("header lacks %q:\n%s", want, src)
		}
	}
	back, _, err := ParseFile("decisions/use-surrealdb.md", src)
	if err != nil {
		t.Fatal(err)
	}
	if ContentHash(back, nil) != ContentHash(in, nil) || back.Metadata["status"] != "Accepted" {
		t.Fatalf("round trip: %+v\n%+v", back.Metadata, in.Metadata)
	}
	bad := kogral.NodeInput{NodeType: "Decision", Title: "x", Metadata: map[string]any{"alternatives": []any{map[string]any{"pros": []any{"y"}}}}}
	var ie *kogral.InputError
	if err := bad.Check(); !errors.As(err, &ie) || ie.Msg != "alternatives[0]: title required" {
		t.Fatalf("alternative without a title: %v", err)
	}
	adr := kogral.ADR{Status: "Accepted", Alternatives: []kogral.Alternative{{Title: "Kafka", Pros: []string{"mature"}, WhyNotChosen: "heavy"}},
		RelatedDecisions: []string{"use-nats"}}
	if md := adr.Markdown("T"); !strings.Contains(md, "## Alternatives\n\n### Kafka\n\n- Pro: mature\n\nNot chosen: heavy\n") ||
		!strings.Contains(md, "## Related decisions\n\n- [[use-nats]]\n") {
		t.Fatalf("ADR markdown:\n%s", md)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDOT(t *testing.T) {
	dot := render.DOT(kogral.Subgraph{Nodes: []kogral.Node{{ID: "a", Title: `say "hi"`, NodeType: "Note"}, {ID: "b", Title: "B", NodeType: "Decision"}},
		Edges: []kogral.Edge{{Source: "a", Target: "b", Relation: "DependsOn", Weight: 2}}})
	for _, want := range []string{"digraph kogral {", `"a" [label="say \"hi\"", shape=note];`, `"a" -> "b" [label="DependsOn", weight=2];`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte("---\nid: default.x\ntitle: X\ntype: Note\n---\nbody"))
	f.Add([]byte("---\n: :\n---"))
	f.Add([]byte("- [[a]] #b\n  - c:: d"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _, _ = ParseFile("f.md", src)
		_, _ = logseq.ParsePage(src)
		_, _ = logseq.ParseOrgPage(src)
	})
}

// A hand-written node file that names no graph is the project's: its id is
// checked in that graph's scope, and a file without an id is named in it.
func TestFilesNamingNoGraphAreTheProjects(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"notes/b.md":    "---\nid: acme.b\ntitle: B\ntype: note\n---\nbody\n",
		"notes/plan.md": "---\ntitle: Plan\ntype: note\n---\nbody\n",
		"notes/web.md":  "---\nid: acme.web.c\ntitle: C\ntype: note\ngraph: acme.web\n---\nbody\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := ReadFolder(dir, "acme.notes")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range g.Nodes {
		got = append(got, n.ID+" in "+n.GraphID)
	}
	slices.Sort(got)
	if want := []string{"acme.b in acme.notes", "acme.notes.plan in acme.notes", "acme.web.c in acme.web"}; !slices.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
	if _, err := ReadFolder(dir, "globex"); err == nil || !strings.Contains(err.Error(), `"globex."`) {
		t.Fatalf("acme's ids read into globex's graph: %v", err)
	}
}
