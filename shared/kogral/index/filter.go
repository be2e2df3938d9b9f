package index

import "github.com/stratumiops/stratumiops/shared/kogral/model"

// The graph's values, as the store names them too.
type (
	Node          = model.Node
	Edge          = model.Edge
	Subgraph      = model.Subgraph
	EdgeDirection = model.EdgeDirection
)

// Filter is what a search lets through: a node type, a tag (without its
// '#') and a graph when set, placeholder pages (the empty pages an import
// made for names only linked to) when asked for, and only the graphs
// Visible lets through (nil: all).
type Filter struct {
	NodeType, Tag, GraphID string
	Placeholders           bool
	Visible                func(graph string) bool
}

// Building is whether the HNSW graph is still being built in the
// background (a benchmark waits for it before timing searches).
func (x *Index) Building() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.building
}

// Vectors is how many embeddings the index has taken to link into its HNSW
// graph since it was last built: those linked (the dead included) and those
// pending. A node indexed once counts once; one indexed again counts again.
func (x *Index) Vectors() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.graph.nodes) + len(x.pending)
}
