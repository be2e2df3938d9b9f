package kogral

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Two stores over one database stand for two function instances: each
// traversal sees the edges the other wrote and removed before it.
func TestTraversalFollowsOtherInstances(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	b := NewStore(a.db, embed.Local{})
	var nodes []Node
	for i := range 6 {
		nodes = append(nodes, Node{ID: fmt.Sprintf("web.t%d", i), NodeType: "Note", Title: fmt.Sprintf("T%d", i), GraphID: "web"})
	}
	if _, err := a.Import(ctx, Subgraph{Nodes: nodes, Edges: []Edge{{Source: "web.t0", Target: "web.t1", Relation: "RelatesTo"}}}); err != nil {
		t.Fatal(err)
	}
	if g, err := b.Connected(ctx, "web.t0", 3, 0); err != nil || len(g.Nodes) != 2 || g.Truncated {
		t.Fatalf("b before: %+v %v", g, err)
	}
	for i := 1; i < 5; i++ { // a chain t0 - t1 - … - t5, written by a
		if _, err := a.Link(ctx, Edge{Source: fmt.Sprintf("web.t%d", i+1), Target: fmt.Sprintf("web.t%d", i), Relation: "DependsOn", Weight: 2}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := b.Connected(ctx, "web.t0", 3, 0)
	if err != nil || len(g.Nodes) != 4 || g.Nodes[0].ID != "web.t0" || g.Nodes[3].ID != "web.t3" || len(g.Edges) != 3 || g.Nodes[1].Title != "T1" {
		t.Fatalf("b after links elsewhere: %+v %v", g, err)
	}
	if g, _ := b.Connected(ctx, "web.t0", 5, 2); len(g.Nodes) != 2 || !g.Truncated {
		t.Fatalf("limit 2: %+v", g)
	}
	p, err := b.Path(ctx, "web.t0", "web.t5")
	if err != nil || len(p.Nodes) != 6 || p.Nodes[5].ID != "web.t5" || len(p.Edges) != 5 || p.Edges[4].Weight != 2 {
		t.Fatalf("path: %+v %v", p, err)
	}
	if out, _ := b.Edges(ctx, "web.t2", DirectionOut); len(out) != 1 || out[0].Target != "web.t1" {
		t.Fatalf("t2 out: %+v", out)
	}
	if err := a.Unlink(ctx, "web.t3", "web.t2", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Path(ctx, "web.t0", "web.t5"); !errorsAsNotFound(err) {
		t.Fatalf("path after an unlink elsewhere: %v", err)
	}
	if err := a.DeleteNode(ctx, "web.t1"); err != nil {
		t.Fatal(err)
	}
	if g, err := b.Connected(ctx, "web.t0", 3, 0); err != nil || len(g.Nodes) != 1 || len(g.Edges) != 0 {
		t.Fatalf("after a delete elsewhere: %+v %v", g, err)
	}
	if _, err := b.Connected(ctx, "web.t1", 1, 0); !errorsAsNotFound(err) {
		t.Fatalf("connected from a deleted node: %v", err)
	}
	// A third instance starting now loads the edges that are there.
	if g, err := NewStore(a.db, embed.Local{}).Connected(ctx, "web.t5", 6, 0); err != nil || len(g.Nodes) != 3 {
		t.Fatalf("a fresh index: %+v %v", g, err)
	}
}

func errorsAsNotFound(err error) bool {
	_, ok := err.(*NotFoundError)
	return ok
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// BenchmarkTraversal builds make bench's graph in SurrealDB — 10 000 nodes,
// 60 000 random edges — and times Connected(3) (at its default limit) and
// Path between random nodes through the Store, reporting p50 and p99.
//
//	go test ./shared/kogral/ -run '^$' -bench Traversal -benchtime 1x
func BenchmarkTraversal(b *testing.B) {
	const nodes, edges = 10_000, 60_000
	ctx := context.Background()
	// A round trip may take long on a busy machine: writing 1 000 edges took
	// more than the default 10 s with the load average at 20 on 2 cores.
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("kogral_bench_%d", time.Now().UnixNano()), Timeout: 2 * time.Minute}, nil)
	b.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/kogral"); err != nil {
		b.Fatal(err)
	}
	s := NewStore(db, embed.Local{})
	rng := rand.New(rand.NewPCG(1, 2))
	var g Subgraph
	for i := range nodes {
		g.Nodes = append(g.Nodes, Node{ID: fmt.Sprintf("bench.n%d", i), NodeType: "Note", Title: fmt.Sprintf("node %d", i),
			Content: strings.Repeat(fmt.Sprintf("word%d ", i%600), 30), GraphID: "bench"})
	}
	for i := range edges {
		s, t := rng.IntN(nodes), rng.IntN(nodes)
		g.Edges = append(g.Edges, Edge{Source: fmt.Sprintf("bench.n%d", s), Target: fmt.Sprintf("bench.n%d", t), Relation: RelationTypes[i%6], Weight: 1})
	}
	began := time.Now()
	for i := 0; i < nodes; i += 1000 { // in batches, as make bench imports
		if _, err := s.Import(ctx, Subgraph{Nodes: g.Nodes[i : i+1000]}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < edges; i += 1000 {
		if _, err := s.Import(ctx, Subgraph{Edges: g.Edges[i : i+1000]}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("imported %d nodes and %d edges in %s", nodes, edges, time.Since(began).Round(time.Millisecond))
	// The HNSW graph is built in the background after an import; the bench
	// times searches first, which gives it the time.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !s.index.Building() {
			break
		}
	}
	b.ResetTimer()
	for range b.N {
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"connected3", func() error { _, err := s.Connected(ctx, fmt.Sprintf("bench.n%d", rng.IntN(nodes)), 3, 0); return err }},
			{"path", func() error {
				_, err := s.Path(ctx, fmt.Sprintf("bench.n%d", rng.IntN(nodes)), fmt.Sprintf("bench.n%d", rng.IntN(nodes)))
				return err
			}},
			{"feed-read", func() error { return s.index.Sync(ctx) }}, // the round trip each traversal starts with
		} {
			p50, p99, err := percentiles(300, op.run)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(p50, op.name+"-p50-ms")
			b.ReportMetric(p99, op.name+"-p99-ms")
		}
	}
}

// percentiles runs op n times and returns the p50 and p99 latencies in ms.
func percentiles(n int, op func() error) (p50, p99 float64, err error) {
	lat := make([]time.Duration, n)
	for i := range lat {
		t := time.Now()
		if err := op(); err != nil {
			return 0, 0, err
		}
		lat[i] = time.Since(t)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(lat[n/2]), ms(lat[n*99/100]), nil
}

// A direction is out, in or both ("" is both); another is refused by name.
func TestParseDirection(t *testing.T) {
	if d, err := ParseDirection(""); err != nil || d != DirectionBoth {
		t.Fatalf("empty: %v %v", d, err)
	}
	if _, err := ParseDirection("sideways"); err == nil || err.Error() != `direction "sideways": want out, in or both` {
		t.Fatalf("sideways: %v", err)
	}
}

// Reading the feeds again over the window they re-read (every 50 ms, the
// last 250 ms of commits) indexes nothing twice: the change sets read
// before are skipped, so each node of an import is linked into the HNSW
// graph once, not once per read (which kept the builder busy long after a
// bulk import, beside every request).
func TestFeedWindowReadAgainIndexesOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.index.Sync(ctx); err != nil { // the load (which may apply what it scanned twice)
		t.Fatal(err)
	}
	var nodes []Node
	for i := range 300 {
		nodes = append(nodes, Node{ID: fmt.Sprintf("web.w%d", i), NodeType: "Note", Title: fmt.Sprintf("W%d", i), Content: "window", GraphID: "web"})
	}
	for i := 0; i < len(nodes); i += 100 { // three transactions' change sets
		if _, err := s.Import(ctx, Subgraph{Nodes: nodes[i : i+100]}); err != nil {
			t.Fatal(err)
		}
	}
	for end := time.Now().Add(400 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if err := s.index.Sync(ctx); err != nil { // deep reads among them
			t.Fatal(err)
		}
	}
	if n := s.index.Vectors(); n != len(nodes) {
		t.Fatalf("%d vectors taken for %d nodes", n, len(nodes))
	}
	// A change read for the first time is still applied.
	if _, err := s.UpdateNode(ctx, "web.w7", NodeInput{NodeType: "Note", Title: "W7 renamed", GraphID: "web"}); err != nil {
		t.Fatal(err)
	}
	if g, err := s.Connected(ctx, "web.w7", 1, 0); err != nil || g.Nodes[0].Title != "W7 renamed" {
		t.Fatalf("after an update: %+v %v", g, err)
	}
	if n := s.index.Vectors(); n != len(nodes)+1 {
		t.Fatalf("%d vectors taken for %d nodes and one update", n, len(nodes))
	}
}

// A read of the feeds that goes back over change sets it read before does
// not decode them again: for half a second after a bulk import every read
// brings its last change set back (surreal.FeedCursor), and decoding its
// 1 000 changes each time cost a request about 20 ms in make bench.
func TestFeedReadAgainDecodesOnlyNews(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var g Subgraph
	for i := range 200 {
		g.Nodes = append(g.Nodes, Node{ID: fmt.Sprintf("web.r%d", i), NodeType: "Note", Title: fmt.Sprintf("R%d", i), GraphID: "web"})
	}
	for i := range 1000 {
		g.Edges = append(g.Edges, Edge{Source: fmt.Sprintf("web.r%d", i%200), Target: fmt.Sprintf("web.r%d", (i/200+1+i)%200),
			Relation: RelationTypes[i/200%len(RelationTypes)], Weight: 1})
	}
	if _, err := s.Import(ctx, Subgraph{Nodes: g.Nodes}); err != nil {
		t.Fatal(err)
	}
	// Another instance's index, which reads the edges' change set first.
	other := NewStore(s.db, embed.Local{})
	if err := other.index.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for s.index.Building() || other.index.Building() { // nothing else allocating while the reads are counted
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Import(ctx, Subgraph{Edges: g.Edges}); err != nil {
		t.Fatal(err)
	}
	s = other
	mallocs := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.Mallocs
	}
	before := mallocs()
	if err := s.index.Sync(ctx); err != nil { // the edges' change set, new
		t.Fatal(err)
	}
	first := mallocs() - before
	const again = 5
	before = mallocs()
	for range again { // the same set, read again within the window
		if err := s.index.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if each := (mallocs() - before) / again; each*10 > first {
		t.Fatalf("a read of a change set read before made %d allocations, the first read %d", each, first)
	}
	if e, err := s.Edges(ctx, "web.r0", DirectionBoth); err != nil || len(e) != 10 {
		t.Fatalf("edges of r0 after the reads: %d %v", len(e), err)
	}
}

// An import's edges may reach nodes another instance wrote just before, or
// that the same import wrote; an edge to a node that does not exist is
// refused, with nothing of its batch written. (The endpoints are checked in
// the index, brought up to date first.)
func TestImportEdgesCheckEndpoints(t *testing.T) {
	ctx := context.Background()
	a := newStore(t)
	b := NewStore(a.db, embed.Local{})
	if err := b.index.Sync(ctx); err != nil { // b's index loaded before a writes
		t.Fatal(err)
	}
	node := func(id string) Node { return Node{ID: id, NodeType: "Note", Title: id, GraphID: "web"} }
	if _, err := a.Import(ctx, Subgraph{Nodes: []Node{node("web.x1"), node("web.x2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, Subgraph{Edges: []Edge{{Source: "web.x1", Target: "web.x2", Relation: "RelatesTo"}}}); err != nil {
		t.Fatalf("edge between nodes another instance wrote: %v", err)
	}
	if _, err := b.Import(ctx, Subgraph{Nodes: []Node{node("web.y1")}, Edges: []Edge{{Source: "web.y1", Target: "web.x1", Relation: "DependsOn"}}}); err != nil {
		t.Fatalf("edge from a node of the same import: %v", err)
	}
	_, err := b.Import(ctx, Subgraph{Edges: []Edge{{Source: "web.x2", Target: "web.y1", Relation: "RelatesTo"}, {Source: "web.x1", Target: "web.ghost", Relation: "RelatesTo"}}})
	if !errors.As(err, new(*NotFoundError)) || !strings.Contains(err.Error(), "web.ghost") {
		t.Fatalf("edge to a missing node: %v", err)
	}
	if out, err := a.Edges(ctx, "web.x2", DirectionOut); err != nil || len(out) != 0 {
		t.Fatalf("x2's edges after the refused batch: %+v %v", out, err)
	}
	if g, err := a.Connected(ctx, "web.y1", 2, 0); err != nil || len(g.Nodes) != 3 || len(g.Edges) != 2 {
		t.Fatalf("y1's neighbourhood: %+v %v", g, err)
	}
}
