package index

// The reads the store asks of the search index beyond search itself: each
// takes the index's lock and returns values, so that the store never
// touches the index's slots, documents, adjacency or lock.

// Missing is the first of ids the index does not hold ("" when it holds
// them all).
func (x *Index) Missing(ids []string) string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, id := range ids {
		if _, ok := x.slots[id]; !ok {
			return id
		}
	}
	return ""
}

// EdgesOf is node id's edges in direction d whose two ends are visible.
func (x *Index) EdgesOf(id string, d EdgeDirection, visible func(string) bool) []Edge {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.visibleEdges(x.adj.edgesOf(id, d), visible)
}

// VisibleOnly keeps the edges whose two ends are visible.
func (x *Index) VisibleOnly(edges []Edge, visible func(string) bool) []Edge {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.visibleEdges(edges, visible)
}

// ConnectedTo is what lies within depth hops of id (limit nodes at most)
// through visible nodes.
func (x *Index) ConnectedTo(id string, depth, limit int, visible func(string) bool) Subgraph {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.adj.connected(id, depth, limit, x.passes(visible))
	return Subgraph{Nodes: x.nodes(t.ids), Edges: t.edges, Truncated: t.truncated}
}

// PathBetween is a shortest path from one node to another through visible
// nodes, at most hops long; false when there is none.
func (x *Index) PathBetween(from, to string, hops int, visible func(string) bool) (Subgraph, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.adj.path(from, to, hops, x.passes(visible))
	if t == nil {
		return Subgraph{}, false
	}
	return Subgraph{Nodes: x.nodes(t.ids), Edges: t.edges}, true
}

// GraphsOf is the graph of each of ids the index holds.
func (x *Index) GraphsOf(ids []string) map[string]string {
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

// GraphOf is the graph of node id, false when the index does not hold it.
func (x *Index) GraphOf(id string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	slot, ok := x.slots[id]
	if !ok {
		return "", false
	}
	return x.docs[slot].graph, true
}

// Nodes are the nodes with these ids, as the API returns them, in that
// order; ids the index does not hold are left out.
func (x *Index) Nodes(ids []string) []Node {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.nodes(ids)
}
