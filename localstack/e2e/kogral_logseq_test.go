package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/client"
	"github.com/stratumiops/stratumiops/shared/kogral/files"
)

// A Logseq graph with every construct of issue 25 (non-Latin titles,
// aliases, namespaces, journals in both date forms, org files, block refs
// and embeds, properties with links, code spans with brackets, pages over
// the limits) imported through the CLI: what Kogral stores is what the
// import reads, construct by construct, twice in a row with identical
// results, in a second graph without touching the first, and again after
// export logseq → import.
func TestKogralLogseqImport(t *testing.T) {
	if dev == nil || ep.Gateways["kogral"] == "" {
		t.Skip("no stratum binary or kogral gateway")
	}
	ctx := context.Background()
	c := client.NewClient(ep.Gateways["kogral"], "X-API-Key", ep.APIKey)
	run := "demo." + strings.ToLower(unique("ls")) // the dev key's scope owns the graphs named demo.*
	dir := logseqEdgeCases(t)
	project := t.TempDir()
	if out, err := stratumCLI(t, project, "init", "--graph", run); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	want, _, err := files.ImportLogseq(dir, run)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(graph string) (nodes, edges []string) {
		t.Helper()
		g, err := c.Export(ctx, graph)
		if err != nil {
			t.Fatal(err)
		}
		return comparable(g)
	}
	wantNodes, wantEdges := comparable(want)
	var first []string
	for i := range 2 {
		out, err := stratumCLI(t, project, "import", dir)
		if err != nil || !strings.Contains(out, fmt.Sprintf("Imported %d nodes and %d edges into %q", len(want.Nodes), len(want.Edges), run)) {
			t.Fatalf("import %d: %v\n%s", i+1, err, out)
		}
		for _, w := range []string{"pages/whiteboard.edn:1: not a Logseq page", "pages/Big.md:", "pages/Tags.md:1: tag",
			"pages/Broken Ref.md:1: block reference"} {
			if !strings.Contains(out, w) {
				t.Errorf("import %d: no warning %q in\n%s", i+1, w, out)
			}
		}
		nodes, edges := stored(run)
		if !slices.Equal(nodes, wantNodes) || !slices.Equal(edges, wantEdges) {
			t.Fatalf("import %d: stored %d nodes / %d edges, the import read %d / %d", i+1, len(nodes), len(edges), len(wantNodes), len(wantEdges))
		}
		if i == 0 {
			first = append(nodes, edges...)
		} else if !slices.Equal(first, append(nodes, edges...)) {
			t.Fatal("the second import stored something else")
		}
	}
	edgeSet := map[string]bool{}
	for _, e := range want.Edges {
		edgeSet[strings.TrimPrefix(e.Source, run+".")+" > "+strings.TrimPrefix(e.Target, run+".")] = true
	}
	for _, e := range []string{"café-crème > 회의-노트", "コーヒー > 회의-노트", "コーヒー > props", "frontmatter-title > café-crème",
		"frontmatter-title > 2020-09-14", "frontmatter-title > 2020-09-15", "2020-09-15 > org-page", "2020-09-16 > コーヒー",
		"projects-kogral > projects", "props > bob", "heading-page > heading-child", "café-crème > beverage"} {
		if !edgeSet[e] {
			t.Errorf("no edge %s", e)
		}
	}
	for _, id := range []string{"café-crème", "회의-노트", "コーヒー", "org-page", "projects", "2020-09-14"} {
		if _, err := c.GetNode(ctx, run+"."+id); err != nil {
			t.Errorf("node %s: %v", id, err)
		}
	}
	for _, id := range []string{"code-span-page", "code-block-page", "coffee"} {
		if _, err := c.GetNode(ctx, run+"."+id); err == nil {
			t.Errorf("node %s exists", id)
		}
	}

	// The same folder in a second graph: the first keeps every node.
	if out, err := stratumCLI(t, project, "import", "--graph", run+"-b", dir); err != nil || !strings.Contains(out, fmt.Sprintf("into %q", run+"-b")) {
		t.Fatalf("second graph: %v\n%s", err, out)
	}
	if nodes, _ := stored(run); !slices.Equal(nodes, wantNodes) {
		t.Fatal("importing into a second graph changed the first")
	}

	// export logseq → import: the same nodes and edges.
	exported := t.TempDir()
	if out, err := stratumCLI(t, project, "export", "logseq", "--out", exported, "--graph", run); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := stratumCLI(t, project, "import", exported); err != nil {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	if nodes, edges := stored(run); !slices.Equal(nodes, wantNodes) || !slices.Equal(edges, wantEdges) {
		t.Fatalf("after the round trip: %d nodes / %d edges, want %d / %d", len(nodes), len(edges), len(wantNodes), len(wantEdges))
	}
}

// logseqEdgeCases is shared/kogral/files/testdata/logseq plus the pages too big
// for git: one over 1 MiB, one with 70 tags and a 70-byte tag.
func logseqEdgeCases(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "graph")
	src := filepath.Join("..", "..", "shared", "kogral", "files", "testdata", "logseq")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeTestFile(filepath.Join(dir, rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	var big, tags strings.Builder
	for i := 0; big.Len() <= kogral.MaxContentBytes+1000; i++ {
		fmt.Fprintf(&big, "- line %d of a very long page that links [[Big Target %d]]\n", i, i%3)
	}
	tags.WriteString("- ")
	for i := range 70 {
		fmt.Fprintf(&tags, "#t%02d ", i)
	}
	tags.WriteString("#" + strings.Repeat("x", 70) + "\n")
	for rel, body := range map[string]string{"pages/Big.md": big.String(), "pages/Tags.md": tags.String()} {
		if err := writeTestFile(filepath.Join(dir, filepath.FromSlash(rel)), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeTestFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// comparable is a subgraph as sorted strings, without timestamps.
func comparable(g kogral.Subgraph) (nodes, edges []string) {
	for _, n := range g.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s|%s|%s|%d|%x|%v|%v", n.ID, n.NodeType, n.Title, len(n.Content), kogralHash(n.Content), n.Tags, n.Metadata))
	}
	for _, e := range g.Edges {
		edges = append(edges, fmt.Sprintf("%s -%s(%g)-> %s", e.Source, e.Relation, e.Weight, e.Target))
	}
	slices.Sort(nodes)
	slices.Sort(edges)
	return nodes, edges
}

func kogralHash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
