package index

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral/embed"
)

// benchTexts are random texts over a vocabulary, like those make bench imports.
func benchTexts(rng *rand.Rand, n, words int) []string {
	vocab := make([]string, 600)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("%s%d", []string{"cache", "ledger", "auth", "deploy", "queue", "index", "schema", "retry", "vault", "graph"}[i%10], i/10)
	}
	out := make([]string, n)
	for i := range out {
		w := make([]string, words)
		for j := range w {
			w[j] = vocab[rng.IntN(len(vocab))]
		}
		out[i] = strings.Join(w, " ")
	}
	return out
}

func randomUnit(rng *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	var sum float64
	for i := range v {
		f := rng.NormFloat64()
		v[i], sum = float32(f), sum+f*f
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(sum))
	}
	return v
}

// bruteForce is the exact answer: the k vectors most similar to q.
func bruteForce(vecs [][]float32, q []float32, k int) []int32 {
	all := make([]scored, len(vecs))
	for i, v := range vecs {
		all[i] = scored{dot(v, q), int32(i)}
	}
	slices.SortFunc(all, func(a, b scored) int { return compareSim(b, a) })
	out := make([]int32, k)
	for i := range out {
		out[i] = all[i].node
	}
	return out
}

func overlap[T comparable](got, want []T) float64 {
	n := 0
	for _, w := range want {
		if slices.Contains(got, w) {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

// The graph finds the true nearest neighbours, measured against a scan
// (low-dimensional vectors keep the test quick under the race detector).
func TestVectorGraphRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := newVectorGraph()
	g.rng = rand.New(rand.NewPCG(5, 6))
	vecs := make([][]float32, 3000)
	for i := range vecs {
		vecs[i] = randomUnit(rng, 16)
		if id := g.link(g.plan(vecs[i], int32(i))); id != int32(i) {
			t.Fatalf("node %d linked as %d", i, id)
		}
	}
	for i, n := range g.nodes {
		if most := graphM0; len(n.links[0]) > most || (i > 0 && len(n.links[0]) == 0) {
			t.Fatalf("node %d has %d links at level 0", i, len(n.links[0]))
		}
	}
	var recall float64
	const queries = 100
	for range queries {
		q := randomUnit(rng, 16)
		found := g.search(q, 64)
		got := make([]int32, 0, 10)
		for _, c := range found[:10] {
			got = append(got, g.nodes[c.node].slot)
		}
		recall += overlap(got, bruteForce(vecs, q, 10))
	}
	recall /= queries
	t.Logf("recall@10 with a beam of 64: %.3f", recall)
	if recall < 0.95 {
		t.Fatalf("recall@10 = %.3f, want ≥ 0.95", recall)
	}
}

// indexWith builds an index of texts (ids "0", "1", …) whose builder does
// not run by itself: the test links what it wants with buildOne.
func indexWith(texts []string) (*Index, [][]float32) {
	x := &Index{exactBelow: 0}
	x.reset()
	x.building = true
	vecs, _ := embed.Local{}.Embed(context.Background(), texts)
	for i, v := range vecs {
		x.put(&indexRow{ID: fmt.Sprint(i), NodeType: []string{"Note", "Decision"}[i%2], Embedding: VectorBytes(v)})
	}
	return x, vecs
}

func ids(rows []Ranked) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// Semantic search through a half-built graph: linked nodes come from the
// graph, pending ones from a scan; deleted and replaced nodes never come
// back; a selective filter scans; many deletions rebuild the graph.
func TestSemanticSearchThroughTheGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x, vecs := indexWith(benchTexts(rng, 700, 34))
	for range 600 {
		x.buildOne()
	}
	if linked, pending := len(x.graph.nodes), len(x.pending); linked != 600 || pending != 100 || linked/2 <= graphEfSearch {
		t.Fatalf("linked %d, pending %d", linked, pending)
	}
	// Every node, linked or pending, is the first answer for its own vector.
	for i, v := range vecs {
		if got := x.Nearest(v, Filter{}, 5); len(got) == 0 || got[0].ID != fmt.Sprint(i) {
			t.Fatalf("node %d: nearest %v", i, ids(got))
		}
	}
	// Against a scan, for queries like make bench's.
	var recall float64
	queries, _ := embed.Local{}.Embed(context.Background(), benchTexts(rng, 30, 3))
	for _, q := range queries {
		var want []string
		for _, n := range bruteForce(vecs, unit(q), 10) {
			want = append(want, fmt.Sprint(n))
		}
		recall += overlap(ids(x.Nearest(q, Filter{}, 10)), want)
	}
	if recall /= float64(len(queries)); recall < 0.9 {
		t.Fatalf("recall@10 = %.3f, want ≥ 0.9", recall)
	}

	// Deleted (linked or pending) and replaced nodes are not found.
	for i := 0; i < 700; i += 70 {
		x.remove(fmt.Sprint(i))
	}
	replaced, _ := embed.Local{}.Embed(context.Background(), []string{"a replaced body about something else entirely"})
	x.put(&indexRow{ID: "1", NodeType: "Note", Embedding: VectorBytes(replaced[0])})
	for i := 0; i < 700; i += 70 {
		if got := ids(x.Nearest(vecs[i], Filter{}, 20)); slices.Contains(got, fmt.Sprint(i)) {
			t.Fatalf("deleted node %d found: %v", i, got)
		}
	}
	if got := ids(x.Nearest(vecs[1], Filter{}, 5)); slices.Contains(got, "1") {
		t.Fatalf("node 1 found by its old vector: %v", got)
	}
	if got := ids(x.Nearest(replaced[0], Filter{}, 1)); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("node 1 by its new vector: %v", got)
	}

	// A filter few nodes pass is answered by a scan, exactly: the Decisions
	// are the odd nodes but 1, which is now a Note.
	x.exactBelow = 400
	var decisions [][]float32
	var decisionIDs []string
	for i := 3; i < 700; i += 2 {
		decisions, decisionIDs = append(decisions, unit(vecs[i])), append(decisionIDs, fmt.Sprint(i))
	}
	var want []string
	for _, n := range bruteForce(decisions, unit(queries[0]), 10) {
		want = append(want, decisionIDs[n])
	}
	if got := ids(x.Nearest(queries[0], Filter{NodeType: "Decision"}, 10)); !slices.Equal(got, want) {
		t.Fatalf("filtered: %v, want %v", got, want)
	}

	// Once half the graph is dead, it starts again from every node.
	x.exactBelow = 0
	for i := range 700 {
		if i%4 != 3 {
			x.remove(fmt.Sprint(i))
		}
	}
	if len(x.graph.nodes) != 0 {
		t.Fatalf("not rebuilt: %d dead of %d", x.graph.dead, len(x.graph.nodes))
	}
	for x.buildOne() {
	}
	if len(x.graph.nodes) != len(x.slots) {
		t.Fatalf("rebuilt graph holds %d of %d", len(x.graph.nodes), len(x.slots))
	}
	if got := ids(x.Nearest(vecs[3], Filter{}, 1)); !slices.Equal(got, []string{"3"}) {
		t.Fatalf("after the rebuild: %v", got)
	}
}

// Searches, writes and the background builder run together (this test is
// for the race detector as much as for its assertions).
func TestGraphBuildsWhileSearching(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	texts := benchTexts(rng, 460, 20)
	x, vecs := indexWith(texts[:400])
	more, _ := embed.Local{}.Embed(context.Background(), texts[400:])
	x.exactBelow = 0
	x.mu.Lock()
	x.building = false // the next put starts the builder
	x.put(&indexRow{ID: "0", Embedding: VectorBytes(vecs[0])})
	x.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(vecs); i += 3 {
				if got := x.Nearest(vecs[i], Filter{}, 3); len(got) == 0 || got[0].ID != fmt.Sprint(i) {
					errs <- fmt.Errorf("node %d: nearest %v", i, ids(got))
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, v := range more {
			x.mu.Lock()
			x.put(&indexRow{ID: fmt.Sprint(400 + i), Embedding: VectorBytes(v)})
			if i > 0 {
				x.remove(fmt.Sprint(400 + i - 1))
			}
			x.mu.Unlock()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		x.mu.RLock()
		done := !x.building && len(x.pending) == 0
		linked := len(x.graph.nodes) - x.graph.dead
		x.mu.RUnlock()
		if done {
			if linked != len(x.slots) {
				t.Fatalf("the graph holds %d of %d nodes", linked, len(x.slots))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the builder did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
