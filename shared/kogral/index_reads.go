package kogral

// The reads the store asks of the search index beyond search itself: each
// takes the index's lock and returns values, so that the store never
// touches the index's slots, documents, adjacency or lock.

// missing is the first of ids the index does not hold ("" when it holds
// them all).
func (x *searchIndex) missing(ids []string) string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, id := range ids {
		if _, ok := x.slots[id]; !ok {
			return id
		}
	}
	return ""
}

// edgesOf is node id's edges in direction d whose two ends are visible.
func (x *searchIndex) edgesOf(id string, d EdgeDirection, visible func(string) bool) []Edge {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.visibleEdges(x.adj.edgesOf(id, d), visible)
}

// visibleOnly keeps the edges whose two ends are visible.
func (x *searchIndex) visibleOnly(edges []Edge, visible func(string) bool) []Edge {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.visibleEdges(edges, visible)
}

// connectedTo is what lies within depth hops of id (limit nodes at most)
// through visible nodes.
func (x *searchIndex) connectedTo(id string, depth, limit int, visible func(string) bool) Subgraph {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.adj.connected(id, depth, limit, x.passes(visible))
	return Subgraph{Nodes: x.nodes(t.ids), Edges: t.edges, Truncated: t.truncated}
}

// pathBetween is a shortest path from one node to another through visible
// nodes, at most hops long; false when there is none.
func (x *searchIndex) pathBetween(from, to string, hops int, visible func(string) bool) (Subgraph, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.adj.path(from, to, hops, x.passes(visible))
	if t == nil {
		return Subgraph{}, false
	}
	return Subgraph{Nodes: x.nodes(t.ids), Edges: t.edges}, true
}

// graphsOf is the graph of each of ids the index holds.
func (x *searchIndex) graphsOf(ids []string) map[string]string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := map[string]string{}
	for _, id := range ids {
		if slot, ok := x.slots[id]; ok {
			out[id] = x.docs[slot].graph
		}
	}
	return out
}
