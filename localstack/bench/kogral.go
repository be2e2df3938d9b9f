package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/kogral"
)

const (
	kogralNodes     = 10_000
	kogralEdges     = 60_000
	kogralBatch     = 1_000
	kogralQueries   = 50
	kogralTraversal = 200 // connected(3) and path queries each
)

// benchKogral imports 10 000 nodes and 60 000 edges through the API, then
// times text search, semantic search, connected(depth 3) (capped at its
// default limit, DefaultConnectedLimit nodes) and path between random nodes.
func benchKogral(ctx context.Context, ep devstack.Endpoints) ([]result, error) {
	c := kogral.NewClient(ep.Gateways["kogral"], "X-API-Key", ep.APIKey)
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 600)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("%s%d", []string{"cache", "ledger", "auth", "deploy", "queue", "index", "schema", "retry", "vault", "graph"}[i%10], i/10)
	}
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(w, " ")
	}
	types := []string{"Note", "Decision", "Guideline", "Pattern", "Journal"}
	graph := fmt.Sprintf("bench-%d", time.Now().Unix())
	start := time.Now()
	for b := 0; b < kogralNodes; b += kogralBatch {
		var g kogral.Subgraph
		for i := b; i < b+kogralBatch; i++ {
			g.Nodes = append(g.Nodes, kogral.Node{ID: fmt.Sprintf("%s-n%d", graph, i), NodeType: types[i%len(types)], Title: words(4),
				Content: words(30), GraphID: graph, Tags: []string{vocab[i%len(vocab)]}})
		}
		if _, err := c.Import(ctx, g); err != nil {
			return nil, fmt.Errorf("import nodes: %w", err)
		}
	}
	nodesElapsed := time.Since(start)
	relations := kogral.RelationTypes
	for b := 0; b < kogralEdges; b += kogralBatch {
		var g kogral.Subgraph
		for i := b; i < b+kogralBatch; i++ {
			s, t := rng.IntN(kogralNodes), rng.IntN(kogralNodes)
			if s == t {
				t = (t + 1) % kogralNodes
			}
			g.Edges = append(g.Edges, kogral.Edge{Source: fmt.Sprintf("%s-n%d", graph, s), Target: fmt.Sprintf("%s-n%d", graph, t),
				Relation: relations[i%len(relations)], Weight: 1})
		}
		t := time.Now()
		if _, err := c.Import(ctx, g); err != nil {
			return nil, fmt.Errorf("import edges %d–%d: %w", b, b+kogralBatch, err)
		}
		if b == 0 {
			fmt.Printf("(kogral: first %d edges in %s)\n", kogralBatch, time.Since(t).Round(time.Millisecond))
		}
	}
	imp := result{name: "kogral bulk import (nodes)", ops: kogralNodes, elapsed: nodesElapsed, target: 2000}
	fmt.Printf("(kogral: %d nodes in %s, then %d edges in %s)\n", kogralNodes, nodesElapsed.Round(time.Millisecond), kogralEdges,
		(time.Since(start) - nodesElapsed).Round(time.Millisecond))

	timed := func(name string, n int, op func(i int) error) (result, error) {
		lat := make([]time.Duration, 0, n)
		began := time.Now()
		for i := range n {
			t := time.Now()
			if err := op(i); err != nil {
				return result{}, fmt.Errorf("%s: %w", name, err)
			}
			lat = append(lat, time.Since(t))
		}
		return summarize(name, [][]time.Duration{lat}, time.Since(began), 0), nil
	}
	text, err := timed("kogral text search", kogralQueries, func(int) error {
		_, err := c.Search(ctx, kogral.SearchQuery{Query: words(2), Filter: kogral.Filter{GraphID: graph, Limit: 10}})
		return err
	})
	if err != nil {
		return nil, err
	}
	text.p99Target = 20 * time.Millisecond
	semantic, err := timed("kogral semantic search", kogralQueries, func(int) error {
		_, err := c.Search(ctx, kogral.SearchQuery{Query: words(3), Semantic: true, Filter: kogral.Filter{GraphID: graph, Limit: 10}})
		return err
	})
	if err != nil {
		return nil, err
	}
	semantic.p99Target = 20 * time.Millisecond
	truncated := 0
	connected, err := timed("kogral connected(3)", kogralTraversal, func(i int) error {
		g, err := c.Connected(ctx, fmt.Sprintf("%s-n%d", graph, rng.IntN(kogralNodes)), 3, 0)
		if g.Truncated {
			truncated++
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	connected.p99Target = 20 * time.Millisecond
	fmt.Printf("(kogral: %d of %d connected(3) answers truncated at %d nodes)\n", truncated, kogralTraversal, kogral.DefaultConnectedLimit)
	hops := 0
	path, err := timed("kogral path", kogralTraversal, func(i int) error {
		from, to := rng.IntN(kogralNodes), rng.IntN(kogralNodes)
		g, err := c.Path(ctx, fmt.Sprintf("%s-n%d", graph, from), fmt.Sprintf("%s-n%d", graph, to))
		hops += max(len(g.Nodes)-1, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	path.p99Target = 10 * time.Millisecond
	fmt.Printf("(kogral: paths of %.1f hops on average)\n", float64(hops)/kogralTraversal)
	return []result{imp, text, semantic, connected, path}, nil
}
