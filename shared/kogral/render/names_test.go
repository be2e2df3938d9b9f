package render_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

// A decision relating to and superseding a decision of another graph of
// the export names it by its id, in its properties and in its text: that
// graph's page name, written in this graph's folder, would make a page of
// that name here. A decision of its own graph is named by its page.
func TestLogseqNamesAnotherGraphsDecisionByID(t *testing.T) {
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "demo.b.use-nats", NodeType: "Decision", Title: "Use NATS", GraphID: "demo.b", Content: "# b"},
		{ID: "demo.a.local", NodeType: "Decision", Title: "Local one", GraphID: "demo.a", Content: "# local"},
		{ID: "demo.a.use-jetstream", NodeType: "Decision", Title: "Use JetStream", GraphID: "demo.a",
			Content:  "see [[demo.b.use-nats]] and [[demo.a.local]]",
			Metadata: map[string]any{"related_decisions": []any{"demo.b.use-nats", "demo.a.local"}, "supersedes": "demo.b.use-nats"}},
	}}
	page := string(render.Logseq(g).Files["demo.a/pages/Use JetStream.md"])
	for _, want := range []string{"related_decisions:: demo.b.use-nats, [[Local one]]\n", "supersedes:: demo.b.use-nats\n",
		"see [[demo.b.use-nats]] and [[Local one]]"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "Use NATS") {
		t.Errorf("another graph's page name in this graph's page:\n%s", page)
	}
}

// File names stay within what a file system takes: a 300-byte title (the
// most a title has), renamed "Title (id)" as the second of its name, a
// title with a NUL and other control characters, a 128-rune CJK id (384
// bytes). Each name is at most 200 bytes (+ ".md"), cut on a rune
// boundary; two names alike up to the cut are two files.
func TestExportFileNamesFitAFileSystem(t *testing.T) {
	long := strings.Repeat("知識", 50) // 300 bytes
	cjkID := "demo." + strings.Repeat("知", 123)
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "demo.long-1", NodeType: "Decision", Title: long, GraphID: "demo", Content: "# one"},
		{ID: "demo.long-2", NodeType: "Decision", Title: long, GraphID: "demo", Content: "# two"},
		{ID: "demo.nul", NodeType: "Note", Title: "a\x00b\tc/d", GraphID: "demo", Content: "x"},
		{ID: cjkID, NodeType: "Note", Title: "cjk", GraphID: "demo", Content: "y"},
	}}
	check := func(format string, ex render.Export, want int) {
		if len(ex.Files) != want || ex.Nodes != want {
			t.Fatalf("%s: %d nodes in %d files, want %d", format, ex.Nodes, len(ex.Files), want)
		}
		for p := range ex.Files {
			base := p[strings.LastIndex(p, "/")+1:]
			if len(base) > 203 || !utf8.ValidString(base) || strings.ContainsFunc(base, func(r rune) bool { return r < 0x20 }) {
				t.Errorf("%s: file name of %d bytes, valid UTF-8 %v: %q", format, len(base), utf8.ValidString(base), base)
			}
		}
	}
	ls := render.Logseq(g)
	check("logseq", ls, 4)
	if !strings.Contains(string(ls.Files["pages/a b c___d.md"]), "title:: a b c/d\nkogral-title:: a\x00b\tc/d\n") {
		t.Errorf("logseq: the NUL's page: %q", paths(ls.Files))
	}
	check("markdown", render.Markdown(g), 4)
}

// MarkdownPath is the file MarkdownFiles writes a node to, long ids too
// (the CLI finds a node's file in .kogral/ by it).
func TestMarkdownPathIsWhereTheFileIs(t *testing.T) {
	n := kogral.Node{ID: "demo." + strings.Repeat("東", 120), NodeType: "Decision", Title: "Long", GraphID: "demo"}
	files := render.MarkdownFiles(kogral.Subgraph{Nodes: []kogral.Node{n}})
	path := render.MarkdownPath(n)
	if _, ok := files[filepath.ToSlash(path)]; !ok || len(filepath.Base(path)) > 255 {
		t.Fatalf("MarkdownPath %q, files %v", path, slices.Collect(maps.Keys(files)))
	}
}

// A page's metadata.file is written back only when it is a page or journal
// file: a node naming logseq/config.edn or a dot file gets a page of its
// own instead, and nothing lands outside pages/ and journals/.
func TestLogseqExportWritesOnlyPageFiles(t *testing.T) {
	var nodes []kogral.Node
	for i, file := range []string{"logseq/config.edn", "logseq/custom.js", "pages/.hidden.md", "pages/ok.md", "journals/2026_11_30.md", "pages/a\x00.md", "pages/sub/deep.md"} {
		nodes = append(nodes, kogral.Node{ID: fmt.Sprintf("demo.p%d", i), NodeType: "Note", Title: fmt.Sprintf("P%d", i), GraphID: "demo",
			Content: "- x", Metadata: map[string]any{"source": "logseq", "file": file}})
	}
	var files []string
	for f := range render.ExportLogseq(kogral.Subgraph{Nodes: nodes}) {
		files = append(files, f)
		if !strings.HasPrefix(f, "pages/") && !strings.HasPrefix(f, "journals/") || strings.Contains(f, "/.") {
			t.Errorf("written outside the pages: %q", f)
		}
	}
	for _, want := range []string{"pages/ok.md", "journals/2026_11_30.md", "pages/sub/deep.md"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s not written back: %q", want, files)
		}
	}
	if len(files) != len(nodes) {
		t.Errorf("%d files for %d nodes: %q", len(files), len(nodes), files)
	}
}
