package render_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

func paths(files map[string][]byte) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Two decisions of one title (the trial's two "Adopt OpenBao instead of
// Vault Enterprise") are two pages: the second by id named "Title (id)",
// its title kept in kogral-title::, and reported; a page whose name differs
// only in case is the same page to Logseq, so it is renamed too.
func TestLogseqWritesNodesOfOneTitle(t *testing.T) {
	const title = "Adopt OpenBao instead of Vault Enterprise"
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "adopt-openbao-instead-of-vault-enterprise-2", NodeType: "Decision", Title: title, GraphID: "demo.brain", Content: "# second"},
		{ID: "adopt-openbao-instead-of-vault-enterprise", NodeType: "Decision", Title: title, GraphID: "demo.brain", Content: "# first"},
		{ID: "vault", NodeType: "Note", Title: "vault", GraphID: "demo.brain", Content: "lower"},
		{ID: "vault-2", NodeType: "Note", Title: "Vault", GraphID: "demo.brain", Content: "upper"},
	}}
	ex := render.Logseq(g)
	want := []string{"pages/" + title + " (adopt-openbao-instead-of-vault-enterprise-2).md", "pages/" + title + ".md",
		"pages/Vault (vault-2).md", "pages/vault.md"}
	if got := paths(ex.Files); !slices.Equal(got, want) || ex.Nodes != 4 {
		t.Fatalf("%d nodes in files %q, want %q", ex.Nodes, got, want)
	}
	first, second := string(ex.Files["pages/"+title+".md"]), string(ex.Files[want[0]])
	if !strings.Contains(first, "# first") || !strings.Contains(second, "# second") {
		t.Fatalf("contents:\n%s\n--\n%s", first, second)
	}
	if !strings.HasPrefix(second, "title:: "+title+" (adopt-openbao-instead-of-vault-enterprise-2)\ntype:: Decision\nkogral-title:: "+title+"\n") {
		t.Fatalf("the renamed page's properties:\n%s", second)
	}
	if len(ex.Renamed) != 2 || ex.Renamed[0].ID != "adopt-openbao-instead-of-vault-enterprise-2" || ex.Renamed[1].Path != "pages/Vault (vault-2).md" {
		t.Fatalf("renamed: %+v", ex.Renamed)
	}
	// The same nodes in another order: the same files.
	slices.Reverse(g.Nodes)
	if again := render.Logseq(g); !slices.Equal(paths(again.Files), want) {
		t.Fatalf("another order: %q", paths(again.Files))
	}
}

// An export of several graphs puts each graph under a folder of its name:
// pages imported from two Logseq graphs, both pages/Vault.md, are both
// written, in markdown too; an export of one graph has no such folder.
func TestExportOfSeveralGraphsKeepsEach(t *testing.T) {
	var g kogral.Subgraph
	for _, graph := range []string{"demo.brain", "demo.brain2"} {
		g.Nodes = append(g.Nodes,
			kogral.Node{ID: graph + ".vault", NodeType: "Note", Title: "Vault", GraphID: graph, Content: "- in " + graph,
				Metadata: map[string]any{"source": "logseq", "file": "pages/Vault.md"}},
			kogral.Node{ID: graph + ".2026-11-30", NodeType: "Journal", Title: "2026-11-30", GraphID: graph, Content: "- day",
				Metadata: map[string]any{"source": "logseq", "file": "journals/2026_11_30.md"}},
			kogral.Node{ID: graph + ".linked", NodeType: "Note", Title: "linked", GraphID: graph, Metadata: map[string]any{"placeholder": true}})
	}
	ex := render.Logseq(g)
	want := []string{"demo.brain/journals/2026_11_30.md", "demo.brain/pages/Vault.md", "demo.brain2/journals/2026_11_30.md", "demo.brain2/pages/Vault.md"}
	if got := paths(ex.Files); !slices.Equal(got, want) || ex.Nodes != 4 || len(ex.Renamed) != 0 {
		t.Fatalf("logseq: %d nodes in %q (renamed %v), want %q", ex.Nodes, got, ex.Renamed, want)
	}
	if string(ex.Files["demo.brain2/pages/Vault.md"]) != "- in demo.brain2\n" {
		t.Fatalf("demo.brain2's page: %q", ex.Files["demo.brain2/pages/Vault.md"])
	}
	md := render.Markdown(g)
	if md.Nodes != 6 || len(md.Files) != 6 || md.Files["demo.brain2/notes/demo.brain2.vault.md"] == nil {
		t.Fatalf("markdown: %d nodes in %q", md.Nodes, paths(md.Files))
	}
	one := render.Logseq(kogral.Subgraph{Nodes: g.Nodes[:3]})
	if got := paths(one.Files); !slices.Equal(got, []string{"journals/2026_11_30.md", "pages/Vault.md"}) {
		t.Fatalf("one graph: %q", got)
	}
}

// Markdown files are named by id; two ids that differ only in case (one
// file on macOS and Windows) are both written.
func TestMarkdownWritesIDsOfOneSpelling(t *testing.T) {
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "vault", NodeType: "Note", Title: "a", GraphID: "demo"},
		{ID: "Vault", NodeType: "Note", Title: "b", GraphID: "demo"},
	}}
	ex := render.Markdown(g)
	if len(ex.Files) != 2 || ex.Nodes != 2 || len(ex.Renamed) != 1 || !strings.HasPrefix(ex.Renamed[0].Path, "notes/vault-") {
		t.Fatalf("%q renamed %+v", paths(ex.Files), ex.Renamed)
	}
}
