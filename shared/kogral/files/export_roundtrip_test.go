package files

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

// Decisions written by the API (not imported from Logseq) survive a Logseq
// export and re-import: both of two decisions of one title, each with its
// title, type, status and alternatives; the related decision is linked by
// its page's name, so it names the re-imported page (no placeholder page
// named by the old id) and related_decisions holds that page's id.
func TestLogseqRoundTripOfDecisions(t *testing.T) {
	const title = "Adopt OpenBao instead of Vault Enterprise"
	alts := []kogral.Alternative{{Title: "Vault Enterprise", Pros: []string{"support, 24/7"}, Cons: []string{"licence #cost"}, WhyNotChosen: "price [[x]]"}}
	first := kogral.ADR{Status: "Accepted", Context: "c", Decision: "d", Consequences: "q", Alternatives: alts}
	second := kogral.ADR{Status: "Proposed", Context: "c2", Decision: "d2", Consequences: "q2",
		RelatedDecisions: []string{"adopt-openbao-instead-of-vault-enterprise"}}
	altMeta := []any{map[string]any{"title": "Vault Enterprise", "pros": []any{"support, 24/7"}, "cons": []any{"licence #cost"}, "why_not_chosen": "price [[x]]"}}
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "adopt-openbao-instead-of-vault-enterprise", NodeType: "Decision", Title: title, GraphID: "demo.brain",
			Content: first.Markdown(title), Metadata: map[string]any{"status": "Accepted", "alternatives": altMeta}, Tags: []string{"secrets"}},
		{ID: "adopt-openbao-instead-of-vault-enterprise-2", NodeType: "Decision", Title: title, GraphID: "demo.brain",
			Content: second.Markdown(title), Metadata: map[string]any{"status": "Proposed", "related_decisions": []any{"adopt-openbao-instead-of-vault-enterprise"}}},
	}}
	dir := filepath.Join(t.TempDir(), "brain")
	ex := render.Logseq(g)
	if err := WriteFolder(dir, ex.Files); err != nil || ex.Nodes != 2 || len(ex.Renamed) != 1 {
		t.Fatalf("export: %v, %d nodes, renamed %+v", err, ex.Nodes, ex.Renamed)
	}
	back, warnings, err := ImportLogseq(dir, "demo.brain")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("import: %v %v", err, warnings)
	}
	byID := map[string]kogral.Node{}
	for _, n := range back.Nodes {
		byID[n.ID] = n
		if strings.Contains(n.Title, "adopt-openbao") && n.Title != title {
			t.Errorf("a page named by an id: %+v", n)
		}
	}
	one, two := byID["demo.brain.adopt-openbao-instead-of-vault-enterprise"], byID["demo.brain.adopt-openbao-instead-of-vault-enterprise-adopt-openbao-instead-of-vault-enterprise-2"]
	if one.NodeType != "Decision" || two.NodeType != "Decision" || one.Title != title || two.Title != title {
		t.Fatalf("the decisions came back as %+v\n%+v\nall: %+v", one, two, back.Nodes)
	}
	if one.Metadata["status"] != "Accepted" || two.Metadata["status"] != "Proposed" {
		t.Fatalf("statuses: %v, %v", one.Metadata["status"], two.Metadata["status"])
	}
	want, _ := json.Marshal(altMeta)
	if got, _ := json.Marshal(one.Metadata["alternatives"]); string(got) != string(want) {
		t.Fatalf("alternatives: %s, want %s", got, want)
	}
	if got, _ := kogral.AsStrings(two.Metadata["related_decisions"]); !slices.Equal(got, []string{one.ID}) {
		t.Fatalf("related_decisions: %v, want [%s]", got, one.ID)
	}
	if !slices.Contains(one.Tags, "secrets") || !strings.Contains(one.Content, "### Vault Enterprise") {
		t.Fatalf("tags %v, content:\n%s", one.Tags, one.Content)
	}
	linked := false
	for _, e := range back.Edges {
		linked = linked || e.Source == two.ID && e.Target == one.ID
	}
	if !linked {
		t.Fatalf("no edge from the second decision to the first: %+v", back.Edges)
	}
	for _, n := range []kogral.Node{one, two} {
		in := kogral.NodeInput{ID: n.ID, NodeType: n.NodeType, Title: n.Title, Content: n.Content, Metadata: n.Metadata, Tags: n.Tags, GraphID: n.GraphID}
		if err := in.Check(); err != nil {
			t.Fatalf("%s does not pass a node's checks: %v", n.ID, err)
		}
	}
}

// A markdown export of several graphs (a folder per graph) reads back
// with each node in its graph.
func TestMarkdownExportOfSeveralGraphsReadsBack(t *testing.T) {
	g := kogral.Subgraph{Nodes: []kogral.Node{
		{ID: "demo.brain.vault", NodeType: "Note", Title: "Vault", GraphID: "demo.brain", Content: "one"},
		{ID: "demo.brain2.vault", NodeType: "Note", Title: "Vault", GraphID: "demo.brain2", Content: "two"},
	}}
	dir := t.TempDir()
	if err := WriteFolder(dir, render.MarkdownFiles(g)); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFolder(dir, "")
	if err != nil || len(back.Nodes) != 2 {
		t.Fatalf("%v %+v", err, back.Nodes)
	}
	for _, n := range back.Nodes {
		if !strings.HasPrefix(n.ID, n.GraphID+".") {
			t.Fatalf("%s came back in graph %q", n.ID, n.GraphID)
		}
	}
}
