package files

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

// An export of two graphs whose decision in demo.a relates to and
// supersedes a decision of demo.b reads back into demo.a with those ids,
// and with no page of demo.b's title made in demo.a.
func TestLogseqCrossGraphDecisionReadsBack(t *testing.T) {
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "demo.b.use-nats", NodeType: "Decision", Title: "Use NATS", GraphID: "demo.b", Content: "# b"},
		{ID: "demo.a.use-jetstream", NodeType: "Decision", Title: "Use JetStream", GraphID: "demo.a", Content: "see [[demo.b.use-nats]]",
			Metadata: map[string]any{"related_decisions": []any{"demo.b.use-nats"}, "supersedes": "demo.b.use-nats"}},
	}}
	dir := t.TempDir()
	if err := WriteFolder(dir, render.Logseq(g).Files); err != nil {
		t.Fatal(err)
	}
	back, warnings, err := ImportLogseq(filepath.Join(dir, "demo.a"), "demo.a")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("import: %v %v", err, warnings)
	}
	for _, n := range back.Nodes {
		if n.Title == "Use NATS" {
			t.Errorf("demo.b's page made in demo.a: %+v", n)
		}
		if n.Title != "Use JetStream" {
			continue
		}
		if got, _ := kogral.AsStrings(n.Metadata["related_decisions"]); !slices.Equal(got, []string{"demo.b.use-nats"}) || n.Metadata["supersedes"] != "demo.b.use-nats" {
			t.Errorf("related %v, supersedes %v", got, n.Metadata["supersedes"])
		}
	}
}

// Pages whose names are too long for a file name, or hold a NUL, are
// written (WriteFolder: no ENAMETOOLONG, no invalid argument) and read back
// with their whole titles: a 300-byte title, a second of that title
// ("Title (id)"), a title with control characters; markdown files of a
// 128-rune CJK id read back with that id.
func TestExportOfLongNamesReadsBack(t *testing.T) {
	long := strings.Repeat("知識", 50) // 300 bytes, the most a title has
	cjkID := "demo." + strings.Repeat("知", 123)
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "demo.long-1", NodeType: "Decision", Title: long, GraphID: "demo", Content: "# one"},
		{ID: "demo.long-2", NodeType: "Decision", Title: long, GraphID: "demo", Content: "# two"},
		{ID: "demo.nul", NodeType: "Note", Title: "a\x00b\tc", GraphID: "demo", Content: "- x"},
		{ID: cjkID, NodeType: "Note", Title: "cjk", GraphID: "demo", Content: "- y"},
	}}
	dir := t.TempDir()
	if err := WriteFolder(dir, render.Logseq(g).Files); err != nil {
		t.Fatalf("logseq: %v", err)
	}
	back, warnings, err := ImportLogseq(dir, "demo")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("import: %v %v", err, warnings)
	}
	var titles []string
	for _, n := range back.Nodes {
		titles = append(titles, n.Title)
	}
	slices.Sort(titles)
	if want := []string{"a\x00b\tc", "cjk", long, long}; !slices.Equal(titles, want) {
		t.Fatalf("titles back: %q, want %q", titles, want)
	}
	md := t.TempDir()
	if err := WriteFolder(md, render.Markdown(g).Files); err != nil {
		t.Fatalf("markdown: %v", err)
	}
	again, err := ReadFolder(md, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range again.Nodes {
		ids = append(ids, n.ID)
	}
	if !slices.Contains(ids, cjkID) || len(ids) != 4 {
		t.Fatalf("ids back: %q", ids)
	}
}
