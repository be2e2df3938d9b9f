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
	if surelyWithin(g.Nodes, MaxAnswerBytes-boundOf(g.Edges)) {
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
	if surelyWithin(items, budget) {
		return items
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

// surelyWithin reports that items fit in budget by their size bounds,
// without encoding them (most answers are far below it).
func surelyWithin[T any](items []T, budget int) bool {
	return boundOf(items) <= budget
}

func boundOf[T any](items []T) int {
	total := 0
	for _, it := range items {
		total += sizeBound(it)
	}
	return total
}

// sizeBound is at least what httpapi.PayloadSize would give v, found
// without encoding it: a byte of a string takes at most 7 bytes of payload
// (\u00XX, its backslash escaped once more), punctuation and field names a
// bounded few, a number or a time at most 64. Types it does not know are
// measured.
func sizeBound(v any) int {
	const field = 64 // a field's name, quotes, colon and comma, escaped
	switch v := v.(type) {
	case string:
		return 7*len(v) + 4
	case nil, bool, float64, int, int64:
		return 64
	case []string:
		n := 4
		for _, s := range v {
			n += sizeBound(s) + 2
		}
		return n
	case []any:
		n := 4
		for _, e := range v {
			n += sizeBound(e) + 2
		}
		return n
	case map[string]any:
		n := 4
		for k, e := range v {
			n += sizeBound(k) + sizeBound(e) + 4
		}
		return n
	case Node:
		return 9*field + sizeBound(v.ID) + sizeBound(v.NodeType) + sizeBound(v.Title) + sizeBound(v.Content) +
			sizeBound(v.Metadata) + sizeBound(v.Tags) + sizeBound(v.GraphID) + 2*64
	case Edge:
		return 5*field + sizeBound(v.Source) + sizeBound(v.Target) + sizeBound(v.Relation) + 64 + sizeBound(v.Metadata)
	case Hit:
		n := 5*field + sizeBound(v.Node) + 64 + sizeBound(v.Via) + sizeBound(v.Snippet)
		if v.Block != nil {
			n += 3*field + sizeBound(v.Block.ID) + sizeBound(v.Block.Content) + 64
		}
		return n
	case EffectiveGuideline:
		return 3*field + sizeBound(v.Node) + sizeBound(v.Source) + sizeBound(v.Overrides)
	}
	return httpapi.PayloadSize(v)
}
