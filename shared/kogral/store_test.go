package kogral

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

func newStore(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("kogral_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/kogral"); err != nil {
		t.Fatal(err)
	}
	return NewStore(db, embed.Local{})
}

func TestGraphStore(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	mk := func(id, typ, title, content, graph string, tags ...string) Node {
		t.Helper()
		n, err := s.CreateNode(ctx, NodeInput{ID: id, NodeType: typ, Title: title, Content: content, GraphID: graph, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	mk("web.adr-storage", "decision", "Use SurrealDB for storage", "We store the knowledge graph in SurrealDB with BM25 search.", "web", "storage")
	mk("web.cache", "pattern", "Read-through cache", "Cache reads with a TTL to protect the database.", "web", "performance")
	mk("shared.auth", "Guideline", "Authentication", "All services authenticate with OAuth.", "shared", "security")
	mk("web.island", "Note", "Unrelated", "Nothing links here.", "web")
	auto := mk("", "note", "Deploy checklist!", "steps", "web")
	if auto.ID != "web.deploy-checklist" {
		t.Fatalf("slug id %q", auto.ID)
	}
	for _, e := range []Edge{{Source: "web.adr-storage", Target: "web.cache", Relation: "depends_on", Weight: 0.5},
		{Source: "web.cache", Target: "shared.auth", Relation: "RelatesTo"}, {Source: "shared.auth", Target: "web.adr-storage", Relation: "supersedes"}} {
		if _, err := s.Link(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := s.Search(ctx, SearchQuery{Query: "database storage"})
	if err != nil || len(hits) == 0 || hits[0].Node.ID != "web.adr-storage" {
		t.Fatalf("text search: %+v %v", hits, err)
	}
	hits, _ = s.Search(ctx, SearchQuery{Query: "storage", Filter: Filter{NodeType: "pattern"}})
	if len(hits) != 0 {
		t.Fatalf("type filter: %+v", hits)
	}
	hits, err = s.Search(ctx, SearchQuery{Query: "caching reads with TTL", Semantic: true})
	if err != nil || len(hits) == 0 || hits[0].Node.ID != "web.cache" {
		t.Fatalf("semantic search: %+v %v", hits, err)
	}
	g, err := s.Connected(ctx, "web.adr-storage", 1, 0)
	if err != nil || len(g.Nodes) != 3 {
		t.Fatalf("connected(1) in a cycle: %d nodes %v", len(g.Nodes), err)
	}
	path, err := s.Path(ctx, "web.cache", "web.adr-storage")
	if err != nil || len(path.Nodes) != 2 || path.Nodes[0].ID != "web.cache" {
		t.Fatalf("path: %+v %v", path, err)
	}
	if _, err := s.Path(ctx, "web.cache", "web.island"); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("no path: %v", err)
	}
	if _, err := s.Link(ctx, Edge{Source: "web.cache", Target: "web.ghost", Relation: "RelatesTo"}); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("link to a missing node: %v", err)
	}
	if _, err := s.Link(ctx, Edge{Source: "web.cache", Target: "shared.auth", Relation: "hates"}); !errors.As(err, new(*InputError)) {
		t.Fatalf("unknown relation: %v", err)
	}
	if _, err := s.CreateNode(ctx, NodeInput{NodeType: "Essay", Title: "x"}); err == nil || !strings.Contains(err.Error(), "unknown node type") {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := s.CreateNode(ctx, NodeInput{ID: "shared.auth", NodeType: "Note", Title: "dup", GraphID: "shared"}); !errors.As(err, new(*ConflictError)) {
		t.Fatalf("a second node with an id: %v", err)
	}
	if _, err := s.CreateNode(ctx, NodeInput{ID: "web.auth", NodeType: "Guideline", Title: "Authentication (web)", Content: "mTLS",
		GraphID: "web", Metadata: map[string]any{"overrides": "shared.auth"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateNode(ctx, NodeInput{ID: "shared.logging", NodeType: "Guideline", Title: "Logging", GraphID: "shared", Metadata: map[string]any{"topic": "Logs"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateNode(ctx, NodeInput{ID: "web.logging", NodeType: "Guideline", Title: "Logging (web)", GraphID: "web", Metadata: map[string]any{"topic": "logs"}}); err != nil {
		t.Fatal(err)
	}
	gl, err := s.Guidelines(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(gl) != 2 || gl[0].Source != "project" || gl[0].Overrides != "shared.auth" || gl[1].Overrides != "shared.logging" {
		t.Fatalf("effective guidelines: %+v", gl)
	}
	if gl, _ := s.Guidelines(ctx, "other"); len(gl) != 2 || gl[0].Source != "shared" {
		t.Fatalf("a project without its own: %+v", gl)
	}
	exp, err := s.Export(ctx, "")
	if err != nil || len(exp.Nodes) < 5 || len(exp.Edges) != 3 {
		t.Fatalf("export: %d nodes %d edges %v", len(exp.Nodes), len(exp.Edges), err)
	}
	other := newStore(t)
	if res, err := other.Import(ctx, exp); err != nil || res.Edges != 3 {
		t.Fatalf("import: %+v %v", res, err)
	}
	if err := s.Unlink(ctx, "web.cache", "shared.auth", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNode(ctx, "web.adr-storage"); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Edges(ctx, "web.cache", DirectionBoth); len(e) != 0 {
		t.Fatalf("edges of a deleted node's neighbour: %+v", e)
	}
}

// Two stores over one database stand for two function instances: each
// search sees what the other wrote, changed and deleted before it.
func TestSearchIndexFollowsOtherInstances(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	b := NewStore(a.db, embed.Local{})
	found := func(s *Store, query string) []string {
		t.Helper()
		hits, err := s.Search(ctx, SearchQuery{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.Node.ID)
		}
		return ids
	}
	if ids := found(b, "zeppelin"); len(ids) != 0 {
		t.Fatalf("empty graph: %v", ids)
	}
	if _, err := a.CreateNode(ctx, NodeInput{ID: "web.airship", NodeType: "Note", Title: "Zeppelins", Content: "Rigid airships.", GraphID: "web"}); err != nil {
		t.Fatal(err)
	}
	if ids := found(b, "zeppelin"); !slices.Equal(ids, []string{"web.airship"}) {
		t.Fatalf("after a create elsewhere: %v", ids)
	}
	if _, err := a.UpdateNode(ctx, "web.airship", NodeInput{NodeType: "Note", Title: "Blimps", Content: "Non-rigid airships.", GraphID: "web"}); err != nil {
		t.Fatal(err)
	}
	if ids := found(b, "zeppelin"); len(ids) != 0 {
		t.Fatalf("the old title after an update elsewhere: %v", ids)
	}
	if ids := found(b, "blimp"); !slices.Equal(ids, []string{"web.airship"}) {
		t.Fatalf("the new title after an update elsewhere: %v", ids)
	}
	if _, err := a.Import(ctx, Subgraph{Nodes: []Node{{ID: "web.balloon", NodeType: "Note", Title: "Hot-air balloon", Content: "A blimp cousin.", GraphID: "web"}}}); err != nil {
		t.Fatal(err)
	}
	if ids := found(b, "blimp"); !slices.Equal(ids, []string{"web.airship", "web.balloon"}) {
		t.Fatalf("after an import elsewhere (the title counts twice): %v", ids)
	}
	if err := a.DeleteNode(ctx, "web.airship"); err != nil {
		t.Fatal(err)
	}
	if ids := found(b, "blimp"); !slices.Equal(ids, []string{"web.balloon"}) {
		t.Fatalf("after a delete elsewhere: %v", ids)
	}
	// A third instance starting now loads what is there.
	if ids := found(NewStore(a.db, embed.Local{}), "blimp"); !slices.Equal(ids, []string{"web.balloon"}) {
		t.Fatalf("a fresh index: %v", ids)
	}
}

// A database written before the in-process index (embeddings as arrays,
// body but no terms field) is searchable, text and semantic, once migrated.
func TestSearchAfterMigratingOlderNodes(t *testing.T) {
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("kogral_old_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	first, err := fs.ReadFile(schemas.Surreal, "surreal/kogral/001_kogral.surql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := surreal.Migrate(ctx, db, fstest.MapFS{"surreal/kogral/001_kogral.surql": {Data: first}}, "surreal/kogral"); err != nil {
		t.Fatal(err)
	}
	vec, _ := embed.Local{}.Embed(ctx, []string{"Quorum reads\n\nRead from a quorum of replicas."})
	if _, err := surreal.Query[any](ctx, db, `CREATE nodes:quorum CONTENT { node_type: 'Pattern', title: 'Quorum reads',
		content: 'Read from a quorum of replicas.', graph_id: 'web', tags: [], embedding: $v, created_at: time::now(), updated_at: time::now() }`,
		map[string]any{"v": vec[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/kogral"); err != nil {
		t.Fatal(err)
	}
	s := NewStore(db, embed.Local{})
	for q, via := range map[SearchQuery]string{{Query: "quorum"}: "text", {Query: "replicas quorum reads", Semantic: true}: "hybrid"} {
		hits, err := s.Search(ctx, q)
		if err != nil || len(hits) == 0 || hits[0].Node.ID != "quorum" || hits[0].Via != via {
			t.Fatalf("%+v: %+v %v", q, hits, err)
		}
	}
	// The record lost the fields 005 removed (a SCHEMAFULL table refuses
	// to write one that still holds them), and is written again as usual.
	stale, err := surreal.Query[[]any](ctx, db, "SELECT VALUE [body, terms] FROM ONLY nodes:quorum", nil)
	if err != nil || len(stale) != 2 || stale[0] != nil || stale[1] != nil {
		t.Fatalf("body and terms after the migrations: %v %v", stale, err)
	}
	if _, err := s.UpdateNode(ctx, "quorum", NodeInput{NodeType: "Pattern", Title: "Quorum writes", Content: "Write to a quorum.", GraphID: "web"}); err != nil {
		t.Fatal(err)
	}
	if hits, err := s.Search(ctx, SearchQuery{Query: "writes"}); err != nil || len(hits) != 1 || hits[0].Node.Title != "Quorum writes" {
		t.Fatalf("after an update: %+v %v", hits, err)
	}
}

// A search hit carries the node as a read of it gives it (the hits come from
// the index, not from a read of SurrealDB), including what another instance
// changed just before.
func TestSearchHitIsTheStoredNode(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	other := NewStore(s.db, embed.Local{})
	in := NodeInput{ID: "web.hit", NodeType: "Pattern", Title: "Circuit breaker", Content: "Trip the breaker after five failures.",
		Metadata: map[string]any{"owner": "sre", "level": 2.0, "nested": map[string]any{"a": []any{"b"}}}, Tags: []string{"resilience"}, GraphID: "web"}
	if _, err := s.CreateNode(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Search(ctx, SearchQuery{Query: "breaker"}); err != nil { // s's index loaded
		t.Fatal(err)
	}
	in.Content = "Trip the breaker after three failures."
	if _, err := other.UpdateNode(ctx, "web.hit", in); err != nil {
		t.Fatal(err)
	}
	want, err := s.GetNode(ctx, "web.hit")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []SearchQuery{{Query: "breaker"}, {Query: "breaker failures", Semantic: true}} {
		hits, err := s.Search(ctx, q)
		if err != nil || len(hits) != 1 {
			t.Fatalf("%+v: %+v %v", q, hits, err)
		}
		got := hits[0].Node
		if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Fatalf("%+v: times %v %v, want %v %v", q, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
		}
		got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v: hit %+v\nwant %+v", q, got, want)
		}
	}
}
