package kogral

import (
	"context"
	"testing"
	"time"
)

// An import run again writes only the nodes that changed: the others keep
// their updated_at (and created_at), and bring the index no news, so that
// it does not index them again; a changed node is updated and keeps its
// created_at. Each run reports every node as stored.
func TestImportAgainWritesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	born := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	nodes := []Node{
		{ID: "web.r0", NodeType: "Note", Title: "R0", Content: "first", GraphID: "web", CreatedAt: born, Metadata: map[string]any{"source": "logseq", "n": 1.5}},
		{ID: "web.r1", NodeType: "Journal", Title: "R1", Content: "second", GraphID: "web", Tags: []string{"a", "b"}},
		{ID: "web.r2", NodeType: "Note", Title: "R2", Content: "third", GraphID: "web"},
	}
	stored := func() map[string]Node {
		t.Helper()
		out := map[string]Node{}
		for _, n := range nodes {
			got, err := s.GetNode(ctx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			out[n.ID] = got
		}
		return out
	}
	importAll := func() {
		t.Helper()
		if res, err := s.Import(ctx, Subgraph{Nodes: nodes}); err != nil || res.Nodes != len(nodes) {
			t.Fatalf("import: %+v %v", res, err)
		}
		if err := s.index.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	importAll()
	first, vectors := stored(), s.index.Vectors()
	if !first["web.r0"].CreatedAt.Equal(born) {
		t.Fatalf("created_at %v, want %v", first["web.r0"].CreatedAt, born)
	}
	time.Sleep(5 * time.Millisecond) // a rewrite would stamp a later updated_at
	importAll()
	again := stored()
	for id, n := range first {
		if !again[id].UpdatedAt.Equal(n.UpdatedAt) || !again[id].CreatedAt.Equal(n.CreatedAt) {
			t.Fatalf("%s imported again unchanged: times %v %v, were %v %v", id, again[id].CreatedAt, again[id].UpdatedAt, n.CreatedAt, n.UpdatedAt)
		}
	}
	if n := s.index.Vectors(); n != vectors {
		t.Fatalf("an unchanged import indexed %d vectors again", n-vectors)
	}
	nodes[1].Content, nodes[1].CreatedAt = "second, edited", time.Time{}
	importAll()
	edited := stored()
	if r1 := edited["web.r1"]; r1.Content != "second, edited" || !r1.UpdatedAt.After(first["web.r1"].UpdatedAt) || !r1.CreatedAt.Equal(first["web.r1"].CreatedAt) {
		t.Fatalf("edited node: %+v (was %+v)", r1, first["web.r1"])
	}
	for _, id := range []string{"web.r0", "web.r2"} {
		if !edited[id].UpdatedAt.Equal(first[id].UpdatedAt) {
			t.Fatalf("%s rewritten by another node's edit", id)
		}
	}
	if n := s.index.Vectors(); n != vectors+1 {
		t.Fatalf("%d vectors taken after one node changed, want %d", n, vectors+1)
	}
	if hits, err := s.Search(ctx, SearchQuery{Query: "edited"}); err != nil || len(hits) != 1 || hits[0].Node.ID != "web.r1" {
		t.Fatalf("search after the edit: %+v %v", hits, err)
	}
}
