package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/kogral/model"
)

// The store's bounds on traversals (package kogral).
const (
	DefaultConnectedLimit = 200
	maxPathHops           = 32
)

func nodeID(id string) models.RecordID { return models.NewRecordID("nodes", id) }

// randomAdjacency is n live nodes "n0"… and m random edges.
func randomAdjacency(n, m int, seed uint64) *adjacency {
	a := newAdjacency()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		a.setLive(fmt.Sprintf("n%d", i), true)
	}
	for i := range m {
		s, t := rng.IntN(n), rng.IntN(n)
		a.put(&linkRow{ID: models.NewRecordID("links", fmt.Sprintf("e%d", i)), In: nodeID(fmt.Sprintf("n%d", s)),
			Out: nodeID(fmt.Sprintf("n%d", t)), Relation: "RelatesTo", Weight: 1})
	}
	return a
}

// distances is a plain breadth-first search, the reference.
func distances(a *adjacency, from string) map[string]int {
	d := map[string]int{from: 0}
	q := []int32{a.vertex[from]}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		a.neighbours(v, func(w int32) {
			if _, ok := d[a.names[w]]; !ok && a.live[w] {
				d[a.names[w]] = d[a.names[v]] + 1
				q = append(q, w)
			}
		})
	}
	return d
}

func TestConnectedIsNearestFirstAndCapped(t *testing.T) {
	a := randomAdjacency(2000, 3000, 7)
	for _, start := range []string{"n0", "n17", "n999"} {
		ref := distances(a, start)
		within := 0
		for _, d := range ref {
			if d <= 3 {
				within++
			}
		}
		all := a.connected(start, 3, 100000, a.isLive)
		if all.truncated || len(all.ids) != within {
			t.Fatalf("%s: %d nodes (truncated %v), want the %d within 3 hops", start, len(all.ids), all.truncated, within)
		}
		for i := 1; i < len(all.ids); i++ {
			if ref[all.ids[i]] < ref[all.ids[i-1]] {
				t.Fatalf("%s: %s (at %d) after %s (at %d)", start, all.ids[i], ref[all.ids[i]], all.ids[i-1], ref[all.ids[i-1]])
			}
		}
		if within > 10 {
			capped := a.connected(start, 3, 10, a.isLive)
			if !capped.truncated || len(capped.ids) != 10 || !slices.Equal(capped.ids, all.ids[:10]) {
				t.Fatalf("%s capped at 10: %v truncated=%v", start, capped.ids, capped.truncated)
			}
			in := map[string]bool{}
			for _, id := range capped.ids {
				in[id] = true
			}
			for _, e := range capped.edges {
				if !in[e.Source] || !in[e.Target] {
					t.Fatalf("edge %v leaves the capped set", e)
				}
			}
		}
	}
}

func TestPathIsShortest(t *testing.T) {
	a := randomAdjacency(3000, 4000, 11)
	rng := rand.New(rand.NewPCG(3, 4))
	found := 0
	for range 200 {
		from, to := fmt.Sprintf("n%d", rng.IntN(3000)), fmt.Sprintf("n%d", rng.IntN(3000))
		want, reachable := distances(a, from)[to]
		p := a.path(from, to, maxPathHops, a.isLive)
		if !reachable || want > maxPathHops {
			if p != nil {
				t.Fatalf("%s→%s: a path where there is none: %v", from, to, p.ids)
			}
			continue
		}
		found++
		if p == nil || len(p.ids) != want+1 || p.ids[0] != from || p.ids[len(p.ids)-1] != to {
			t.Fatalf("%s→%s: %v, want %d hops", from, to, p, want)
		}
		for i := 1; i < len(p.ids); i++ {
			linked := false
			for _, e := range p.edges {
				linked = linked || (e.Source == p.ids[i-1] && e.Target == p.ids[i]) || (e.Source == p.ids[i] && e.Target == p.ids[i-1])
			}
			if !linked {
				t.Fatalf("%s→%s: no edge between %s and %s", from, to, p.ids[i-1], p.ids[i])
			}
		}
	}
	if found < 100 {
		t.Fatalf("only %d of 200 pairs connected: the test graph is too sparse", found)
	}
}

func TestAdjacencyFollowsPutsAndRemoves(t *testing.T) {
	a := newAdjacency()
	for _, id := range []string{"a", "b", "c"} {
		a.setLive(id, true)
	}
	put := func(key, in, out string, w float64) {
		a.put(&linkRow{ID: models.NewRecordID("links", key), In: nodeID(in), Out: nodeID(out), Relation: "DependsOn", Weight: w})
	}
	put("1", "a", "b", 1)
	put("2", "c", "a", 1)
	put("1", "a", "b", 3) // the same record again: an update
	if out := a.edgesOf("a", model.DirectionOut); len(out) != 1 || out[0].Weight != 3 || out[0].Target != "b" {
		t.Fatalf("out: %+v", out)
	}
	if in := a.edgesOf("a", model.DirectionIn); len(in) != 1 || in[0].Source != "c" {
		t.Fatalf("in: %+v", in)
	}
	if both := a.edgesOf("a", model.DirectionBoth); len(both) != 2 {
		t.Fatalf("both: %+v", both)
	}
	a.remove("2")
	if both := a.edgesOf("a", model.DirectionBoth); len(both) != 1 {
		t.Fatalf("after a remove: %+v", both)
	}
	a.setLive("b", false)
	if g := a.connected("a", 2, 10, a.isLive); len(g.ids) != 1 {
		t.Fatalf("a deleted node is not reached: %v", g.ids)
	}
}

// BenchmarkTraversalInMemory times what a traversal does besides reading
// the change feeds: the search over make bench's graph (10 000 nodes,
// 60 000 random edges) and copying out the nodes it found.
func BenchmarkTraversalInMemory(b *testing.B) {
	const nodes, edges = 10_000, 60_000
	x := New(nil)
	for i := range nodes {
		x.put(&indexRow{ID: fmt.Sprintf("n%d", i), NodeType: "Note", Title: fmt.Sprintf("node %d", i),
			Content: strings.Repeat("word ", 30), Metadata: map[string]any{"k": i}})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range edges {
		x.adj.put(&linkRow{ID: models.NewRecordID("links", fmt.Sprint(i)), In: nodeID(fmt.Sprintf("n%d", rng.IntN(nodes))),
			Out: nodeID(fmt.Sprintf("n%d", rng.IntN(nodes))), Relation: "RelatesTo", Weight: 1})
	}
	b.Run("connected3", func(b *testing.B) {
		for range b.N {
			t := x.adj.connected(fmt.Sprintf("n%d", rng.IntN(nodes)), 3, DefaultConnectedLimit, x.adj.isLive)
			_ = x.nodes(t.ids)
		}
	})
	b.Run("path", func(b *testing.B) {
		for range b.N {
			if t := x.adj.path(fmt.Sprintf("n%d", rng.IntN(nodes)), fmt.Sprintf("n%d", rng.IntN(nodes)), maxPathHops, x.adj.isLive); t != nil {
				_ = x.nodes(t.ids)
			}
		}
	})
}
