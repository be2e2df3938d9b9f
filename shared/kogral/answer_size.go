package kogral

import "github.com/stratumiops/stratumiops/shared/platform/httpapi"

// MaxAnswerBytes bounds what the nodes and edges of a connected() answer,
// or the hits of a search, add to the function's Lambda response payload
// (httpapi.PayloadSize): well under Lambda's 6 MB, leaving room for the rest
// of the answer. Past it, connected() stops adding nodes (then edges) and
// says truncated; a search answers fewer hits than its limit: the best
// ones, up to the hit that would pass it.
const MaxAnswerBytes = 4 << 20

// boundSubgraph keeps g's nodes, nearest first, and then its edges while
// they fit in MaxAnswerBytes (the first node always), marking it truncated
// when it leaves any out; edges to a node left out go too.
func boundSubgraph(g Subgraph) Subgraph {
	if httpapi.PayloadBound(g.Nodes)+httpapi.PayloadBound(g.Edges) <= MaxAnswerBytes {
		return g // the usual answer, not encoded to be measured
	}
	total, cut := 0, false
	for i, n := range g.Nodes {
		size := httpapi.PayloadSize(n)
		if i > 0 && total+size > MaxAnswerBytes {
			g.Nodes, cut = g.Nodes[:i], true
			break
		}
		total += size
	}
	kept := map[string]bool{}
	for _, n := range g.Nodes {
		kept[n.ID] = true
	}
	edges := make([]Edge, 0, len(g.Edges))
	for _, e := range g.Edges {
		if cut && (!kept[e.Source] || !kept[e.Target]) {
			continue
		}
		size := httpapi.PayloadSize(e)
		if total+size > MaxAnswerBytes {
			g.Truncated = true
			break
		}
		total += size
		edges = append(edges, e)
	}
	g.Edges = edges
	g.Truncated = g.Truncated || cut
	return g
}

// MaxToolAnswerBytes is MaxAnswerBytes for an MCP tool's answer, which the
// SDK sends twice (as structured content and as its JSON in a text
// content, escaped once more): a third, so that both fit with room.
const MaxToolAnswerBytes = MaxAnswerBytes / 3

// BoundHits keeps the best hits while they fit in budget bytes of payload
// (the first always), measured as answered: with each node's content only
// when full.
func BoundHits(hits []Hit, full bool, budget int) []Hit {
	answered := hits
	if !full {
		answered = make([]Hit, len(hits))
		for i, h := range hits {
			h.Node.Content = ""
			answered[i] = h
		}
	}
	return hits[:len(Within(answered, budget))]
}

// Within keeps the first items while they fit in budget bytes of payload
// (the first always): a list answer (nodes, guidelines) that stays under
// Lambda's response limit. Fewer items than asked for, with large ones,
// means the next would not have fitted.
func Within[T any](items []T, budget int) []T {
	if httpapi.PayloadBound(items) <= budget {
		return items // the usual answer, not encoded to be measured
	}
	total := 0
	for i, it := range items {
		size := httpapi.PayloadSize(it)
		if i > 0 && total+size > budget {
			return items[:i]
		}
		total += size
	}
	return items
}
