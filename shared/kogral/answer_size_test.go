package kogral

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// Eight nodes of about 1 MB around a hub: connected(depth 1) and a full
// search answer what fits in MaxAnswerBytes (connected says truncated, with
// no edge to a node it left out); a search without full answers every hit.
func TestLargeNodesKeepAnswersBounded(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	big := strings.Repeat("needle \"quoted\" words ", (1<<20)/24)
	if _, err := s.CreateNode(ctx, NodeInput{ID: "g.hub", NodeType: "note", Title: "Hub", Content: "center", GraphID: "g"}); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		id := fmt.Sprintf("g.big-%d", i)
		if _, err := s.CreateNode(ctx, NodeInput{ID: id, NodeType: "note", Title: id, Content: big, GraphID: "g"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Link(ctx, Edge{Source: "g.hub", Target: id, Relation: "RelatesTo"}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := s.Connected(ctx, "g.hub", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) < 2 || len(g.Nodes) >= 9 || !g.Truncated || httpapi.PayloadSize(g) > MaxAnswerBytes+1000 {
		t.Fatalf("connected: %d nodes, truncated %v, %d bytes", len(g.Nodes), g.Truncated, httpapi.PayloadSize(g))
	}
	kept := map[string]bool{}
	for _, n := range g.Nodes {
		kept[n.ID] = true
	}
	if len(g.Edges) != len(g.Nodes)-1 {
		t.Fatalf("%d edges for %d nodes", len(g.Edges), len(g.Nodes))
	}
	for _, e := range g.Edges {
		if !kept[e.Source] || !kept[e.Target] {
			t.Fatalf("edge to a node left out: %+v", e)
		}
	}
	full, err := s.Search(ctx, SearchQuery{Query: "needle", Full: true, Filter: Filter{Limit: 20}})
	if err != nil || len(full) < 1 || len(full) >= 8 {
		t.Fatalf("full search: %d hits, %v", len(full), err)
	}
	raw, _ := json.Marshal(full)
	if len(raw) > MaxAnswerBytes {
		t.Fatalf("full search answer: %d bytes", len(raw))
	}
	if short, err := s.Search(ctx, SearchQuery{Query: "needle", Filter: Filter{Limit: 20}}); err != nil || len(short) != 8 {
		t.Fatalf("search without content: %d hits, %v", len(short), err)
	}
	// A list keeps its first nodes within the bound.
	list, err := s.ListNodes(ctx, Filter{GraphID: "g"})
	if kept := Within(list, MaxAnswerBytes); err != nil || len(kept) < 1 || len(kept) >= len(list) || httpapi.PayloadSize(kept) > MaxAnswerBytes {
		t.Fatalf("list: %d of %d nodes kept, %v", len(kept), len(list), err)
	}
	// A path through six nodes of 1 MB says it was cut.
	for i := range 6 {
		if _, err := s.CreateNode(ctx, NodeInput{ID: fmt.Sprintf("g.chain-%d", i), NodeType: "note", Title: "chain", Content: big, GraphID: "g"}); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if _, err := s.Link(ctx, Edge{Source: fmt.Sprintf("g.chain-%d", i-1), Target: fmt.Sprintf("g.chain-%d", i), Relation: "RelatesTo"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := s.Path(ctx, "g.chain-0", "g.chain-5")
	if err != nil || !p.Truncated || len(p.Nodes) >= 6 || httpapi.PayloadSize(p) > MaxAnswerBytes+1000 {
		t.Fatalf("path: %d nodes, truncated %v, %d bytes, %v", len(p.Nodes), p.Truncated, httpapi.PayloadSize(p), err)
	}
}

// A size bound is never below the payload it stands for, whatever the text
// holds (quotes, backslashes, control characters, <>&, invalid UTF-8,
// other scripts) and however the metadata nests.
func TestSizeBoundIsAnUpperBound(t *testing.T) {
	texts := []string{"", "plain words", `"quoted" \\ back`, "\x00\x01\x1f tabs\t\n", "<a href='x'>&amp;</a>", "\xff\xfe bad utf-8",
		"東京データセンター", strings.Repeat(`"`, 1000), strings.Repeat("\x01", 1000)}
	for i, text := range texts {
		meta := map[string]any{"k": text, "n": 1.5, "list": []any{text, true, nil, map[string]any{text: []any{text}}},
			"alternatives": []Alternative{{Title: text, Pros: []string{text}}}}
		n := Node{ID: "g.x", NodeType: "Note", Title: text, Content: text, Metadata: meta, Tags: []string{text, "t"}, GraphID: "g"}
		e := Edge{Source: "g.x", Target: "g.y", Relation: "RelatesTo", Weight: 0.123456789, Metadata: meta}
		h := Hit{Node: n, Score: 1e-300, Via: "text", Snippet: text, Block: &BlockHit{ID: text, Content: text, Line: 12345}}
		g := EffectiveGuideline{Node: n, Source: "project", Overrides: text}
		for _, v := range []any{n, e, h, g, text, meta} {
			if b, p := httpapi.PayloadBound(v), httpapi.PayloadSize(v); b < p {
				t.Errorf("text %d, %T: bound %d below the payload %d", i, v, b, p)
			}
		}
	}
}
