package kogral

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileRoundTrip(t *testing.T) {
	n := Node{ID: "use-surrealdb", NodeType: "Decision", Title: "Use SurrealDB", GraphID: "web", Tags: []string{"storage"},
		Content: "# Use SurrealDB\n\n- a list\n  - nested\n\n---\n\nafter a rule", Metadata: map[string]any{"status": "Accepted"}}
	src := RenderFile(n, []Edge{{Source: n.ID, Target: "caching", Relation: "DependsOn", Weight: 0.5}})
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
		"bad yaml":       {"---\nid: x\ntitle: [unclosed\ntype: Note\n---\nbody\n", "notes/x.md:"},
		"no frontmatter": {"# just markdown\n", "notes/x.md:1: no frontmatter"},
		"unknown type":   {"---\nid: x\ntitle: X\ntype: Essay\n---\n", `unknown node type "Essay"`},
		"bad relation":   {"---\nid: x\ntitle: X\nlinks:\n  - {relation: Hates, target: y}\n---\n", "links[0]"},
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
	g, err := ImportLogseq(dir, "web")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Node{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	auth := byID["auth-service"]
	if auth.NodeType != "Guideline" || !contains(auth.Tags, "security") || !contains(auth.Tags, "redis") {
		t.Fatalf("auth page: %+v", auth)
	}
	if byID["2026-11-25"].NodeType != "Journal" || byID["infra-deploy"].Title != "infra/deploy" {
		t.Fatalf("journal or namespaced page: %+v", g.Nodes)
	}
	if _, ok := byID["token-ttl"]; !ok {
		t.Fatal("a page only linked to was lost")
	}
	want := []string{"auth-service>token-ttl", "auth-service>session-store", "auth-service>backend", "session-store>auth-service",
		"infra-deploy>auth-service", "2026-11-25>auth-service", "2026-11-25>token-ttl"}
	have := map[string]bool{}
	for _, e := range g.Edges {
		have[e.Source+">"+e.Target] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("missing link %s (have %v)", w, have)
		}
	}
	if tasks, _ := auth.Metadata["tasks"].([]string); len(tasks) != 1 || tasks[0] != "TODO" {
		t.Errorf("task markers: %v", auth.Metadata["tasks"])
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
	dot := DOT(Subgraph{Nodes: []Node{{ID: "a", Title: `say "hi"`, NodeType: "Note"}, {ID: "b", Title: "B", NodeType: "Decision"}},
		Edges: []Edge{{Source: "a", Target: "b", Relation: "DependsOn", Weight: 2}}})
	for _, want := range []string{"digraph kogral {", `"a" [label="say \"hi\"", shape=note];`, `"a" -> "b" [label="DependsOn", weight=2];`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte("---\nid: x\ntitle: X\ntype: Note\n---\nbody"))
	f.Add([]byte("---\n: :\n---"))
	f.Add([]byte("- [[a]] #b\n  - c:: d"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _, _ = ParseFile("f.md", src)
		_, _ = ParseLogseqPage(src)
	})
}
