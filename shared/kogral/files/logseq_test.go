package files

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

// writeLogseqGraph writes a Logseq graph of pages pages and a journal a
// day for a month: page properties (type, tags, title, links), namespaces,
// blocks nested three deep, every task marker, id:: properties, block
// references and embeds of blocks and pages across pages, tags.
func writeLogseqGraph(t testing.TB, dir string, pages int) {
	rng := rand.New(rand.NewPCG(5, 6))
	uuid := func(i, j int) string { return fmt.Sprintf("6571f2a0-%04x-4c3a-9d1e-%012x", i, j) }
	name := func(i int) string {
		if i%10 == 3 {
			return fmt.Sprintf("area___topic %d", i) // a namespaced page, area/topic N
		}
		return fmt.Sprintf("Page %d", i)
	}
	write := func(rel, body string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range pages {
		var b strings.Builder
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "type:: %s\ntags:: team%d, [[Shared Topic]]\n\n", []string{"pattern", "guideline", "decision", "note"}[i%4], i%7)
		case 1:
			fmt.Fprintf(&b, "owner:: [[%s]]\n\n", strings.ReplaceAll(name((i+1)%pages), "___", "/"))
		}
		for j := range 3 {
			marker := logseq.TaskStates[(i+j)%len(logseq.TaskStates)]
			fmt.Fprintf(&b, "- %s item %d of page %d #tag%d\n  id:: %s\n", marker, j, i, (i+j)%9, uuid(i, j))
			fmt.Fprintf(&b, "  - links [[%s]] and ((%s))\n", strings.ReplaceAll(name(rng.IntN(pages)), "___", "/"), uuid(rng.IntN(pages), rng.IntN(3)))
			fmt.Fprintf(&b, "    - deep note %d-%d zq%s\n", i, j, letters(i*3+j))
		}
		fmt.Fprintf(&b, "- {{embed [[%s]]}}\n- {{embed ((%s))}}\n", name((i+2)%pages), uuid((i+3)%pages, 1))
		write("pages/"+name(i)+".md", b.String())
	}
	for d := 1; d <= 30; d++ {
		write(fmt.Sprintf("journals/2026_11_%02d.md", d), fmt.Sprintf("- NOW met about [[%s]]\n\t- DONE notes ((%s))\n", name(d), uuid(d, 0)))
	}
}

// letters spells n in the letters a–z (a word the analyzer keeps whole).
func letters(n int) string {
	s := ""
	for {
		s = string(rune('a'+n%26)) + s
		if n /= 26; n == 0 {
			return s
		}
	}
}

// asCompared is a subgraph as JSON values, without timestamps, sorted.
func asCompared(t testing.TB, g kogral.Subgraph) (nodes, edges []string) {
	for _, n := range g.Nodes {
		n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC().Truncate(0), n.UpdatedAt.UTC().Truncate(0)
		raw, err := json.Marshal(map[string]any{"id": n.ID, "type": n.NodeType, "title": n.Title, "content": n.Content,
			"tags": n.Tags, "graph": n.GraphID, "metadata": n.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, string(raw))
	}
	for _, e := range g.Edges {
		edges = append(edges, fmt.Sprintf("%s -%s(%g)-> %s", e.Source, e.Relation, e.Weight, e.Target))
	}
	slices.Sort(nodes)
	slices.Sort(edges)
	return nodes, edges
}

// A Logseq graph of a few hundred pages goes in, out as a Logseq folder and
// in again without loss: the same nodes (content, tags, metadata), edges
// and blocks; the blocks are served by id, and a search names the block
// that matched.
func TestLogseqRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "graph")
	writeLogseqGraph(t, dir, 300)
	first, warnings, err := ImportLogseq(dir, "brain")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("import: %v %v", err, warnings)
	}
	if len(first.Nodes) < 330 || len(first.Edges) < 900 {
		t.Fatalf("%d nodes, %d edges", len(first.Nodes), len(first.Edges))
	}
	s := newStore(t)
	if _, err := s.Import(ctx, first); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Export(ctx, "brain")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "exported")
	if err := WriteFolder(out, render.ExportLogseq(stored)); err != nil {
		t.Fatal(err)
	}
	second, warnings, err := ImportLogseq(out, "brain")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("second import: %v %v", err, warnings)
	}
	n1, e1 := asCompared(t, first)
	for name, g := range map[string]kogral.Subgraph{"stored": stored, "exported and imported again": second} {
		n2, e2 := asCompared(t, g)
		if !slices.Equal(n1, n2) || !slices.Equal(e1, e2) {
			for i := range min(len(n1), len(n2)) {
				if n1[i] != n2[i] {
					t.Fatalf("%s: node differs:\n%s\n%s", name, n1[i], n2[i])
				}
			}
			t.Fatalf("%s: %d/%d nodes, %d/%d edges", name, len(n1), len(n2), len(e1), len(e2))
		}
	}
	src, _ := os.ReadFile(filepath.Join(dir, "pages", "Page 42.md"))
	_, want := logseq.ParsePage(src)
	blocks, err := s.Blocks(ctx, "brain.page-42")
	if err != nil || len(blocks) != 5 {
		t.Fatalf("blocks of page 42: %d %v", len(blocks), err)
	}
	if a, b := fmt.Sprint(want), fmt.Sprint(blocks); a != b {
		t.Fatalf("blocks differ from the file's:\n%s\n%s", a, b)
	}
	if blocks[1].ID != "6571f2a0-002a-4c3a-9d1e-000000000001" || blocks[1].Children[0].Children[0].ID != "2.1.1" {
		t.Fatalf("block ids: %s, %s", blocks[1].ID, blocks[1].Children[0].Children[0].ID)
	}
	hits, err := s.Search(ctx, kogral.SearchQuery{Query: "deep zq" + letters(42*3+1)})
	if err != nil || len(hits) == 0 {
		t.Fatalf("search: %v %v", hits, err)
	}
	if err != nil || len(hits) == 0 || hits[0].Node.ID != "brain.page-42" || hits[0].Block == nil || hits[0].Block.ID != "2.1.1" || hits[0].Block.Line != 8 {
		t.Fatalf("search hit: %+v %v", hits[0].Block, err)
	}
}
