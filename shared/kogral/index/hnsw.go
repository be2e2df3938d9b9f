package index

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// vectorGraph is a hierarchical navigable small world graph (Malkov and
// Yashunin, "Efficient and robust approximate nearest neighbor search using
// Hierarchical Navigable Small World graphs", 2016) over unit vectors, with
// cosine similarity as closeness. A search descends the sparse upper layers
// greedily, then explores a bounded beam (ef) of the dense bottom layer, so
// it compares the query with a few thousand vectors however many are stored.
//
// Written here rather than taken from a module: github.com/coder/hnsw
// v0.6.1 found 4.5 % of the true 50 nearest neighbours of our embeddings
// (its search stops at the first step that does not improve on the best).
//
// Concurrency: search and plan only read, so any number may run together;
// link changes the graph and must run alone. plan also draws from rng, so
// only one goroutine (Index's builder) may call it.
type vectorGraph struct {
	nodes []graphNode
	entry int32 // where searches start: a node of the top level; -1 while empty
	top   int   // entry's level
	dead  int   // nodes whose document is gone (kept as waypoints)
	rng   *rand.Rand
}

type graphNode struct {
	vec   []float32
	slot  int32     // the document's slot in Index; -1 once it is gone
	links [][]int32 // neighbours at each level, 0 up to the node's own
}

const (
	graphM              = 16         // neighbours a node keeps above level 0
	graphM0             = 2 * graphM // and at level 0, as the paper advises
	graphEfConstruction = 64         // beam width when linking a new node
)

// graphLevelFactor makes each level hold about 1/graphM of the one below.
var graphLevelFactor = 1 / math.Log(graphM)

func newVectorGraph() *vectorGraph {
	return &vectorGraph{entry: -1, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// scored is a node and its similarity to the vector at hand.
type scored struct {
	sim  float32
	node int32
}

// insertion is what plan found for a new node: where it goes, and its
// neighbours at each level it shares with the graph.
type insertion struct {
	vec        []float32
	slot       int32
	level      int
	neighbours [][]int32
}

// plan finds the neighbours of a new node without changing the graph.
func (g *vectorGraph) plan(vec []float32, slot int32) *insertion {
	level := int(-math.Log(1-g.rng.Float64()) * graphLevelFactor)
	ins := &insertion{vec: vec, slot: slot, level: level}
	if g.entry < 0 {
		return ins
	}
	ep := g.descend(vec, level)
	ins.neighbours = make([][]int32, min(level, g.top)+1)
	eps := []scored{ep}
	for l := len(ins.neighbours) - 1; l >= 0; l-- {
		found := g.searchLevel(vec, eps, graphEfConstruction, l)
		ins.neighbours[l] = g.selectNeighbours(found, graphM)
		eps = found
	}
	return ins
}

// link adds a planned node and its links both ways, trimming neighbours that
// now have too many. It returns the new node.
func (g *vectorGraph) link(ins *insertion) int32 {
	id := int32(len(g.nodes))
	g.nodes = append(g.nodes, graphNode{vec: ins.vec, slot: ins.slot, links: make([][]int32, ins.level+1)})
	for l, ns := range ins.neighbours {
		g.nodes[id].links[l] = ns
		most := graphM
		if l == 0 {
			most = graphM0
		}
		for _, n := range ns {
			links := append(g.nodes[n].links[l], id)
			if len(links) > most {
				links = g.trim(n, links, most)
			}
			g.nodes[n].links[l] = links
		}
	}
	if g.entry < 0 || ins.level > g.top {
		g.entry, g.top = id, ins.level
	}
	return id
}

// trim chooses which of a node's links to keep.
func (g *vectorGraph) trim(n int32, links []int32, most int) []int32 {
	cands := make([]scored, len(links))
	for i, c := range links {
		cands[i] = scored{dot(g.nodes[n].vec, g.nodes[c].vec), c}
	}
	slices.SortFunc(cands, func(a, b scored) int { return compareSim(b, a) })
	return g.selectNeighbours(cands, most)
}

// selectNeighbours is the paper's heuristic (its algorithm 4): from
// candidates best first, keep one only if it is closer to the target than
// to every one kept before, so that links point in different directions
// and clusters stay connected to each other.
func (g *vectorGraph) selectNeighbours(cands []scored, most int) []int32 {
	out := make([]int32, 0, most)
	for _, c := range cands {
		if len(out) == most {
			break
		}
		diverse := true
		for _, kept := range out {
			if dot(g.nodes[c.node].vec, g.nodes[kept].vec) > c.sim {
				diverse = false
				break
			}
		}
		if diverse {
			out = append(out, c.node)
		}
	}
	return out
}

// search returns the ef nodes it finds closest to q, best first. Nodes whose
// document is gone are among them; callers skip those.
func (g *vectorGraph) search(q []float32, ef int) []scored {
	if g.entry < 0 {
		return nil
	}
	return g.searchLevel(q, []scored{g.descend(q, 0)}, ef, 0)
}

// descend walks greedily from the entry through the levels above `to`, and
// returns the closest node it reached.
func (g *vectorGraph) descend(q []float32, to int) scored {
	ep := scored{dot(q, g.nodes[g.entry].vec), g.entry}
	for l := g.top; l > to; l-- {
		for moved := true; moved; {
			moved = false
			for _, n := range g.nodes[ep.node].links[l] {
				if s := dot(q, g.nodes[n].vec); s > ep.sim {
					ep, moved = scored{s, n}, true
				}
			}
		}
	}
	return ep
}

// searchLevel is the paper's beam search (its algorithm 2) on one level:
// it expands the closest unexpanded node until none could improve on the
// ef best found.
func (g *vectorGraph) searchLevel(q []float32, eps []scored, ef, level int) []scored {
	seen := visitedPool.Get().(*visited)
	defer seen.release()
	seen.reset(len(g.nodes))
	cands, found := &nearestFirst{}, &farthestFirst{}
	for _, ep := range eps {
		if seen.mark(ep.node) {
			heap.Push(cands, ep)
			heap.Push(found, ep)
		}
	}
	for found.Len() > ef {
		heap.Pop(found)
	}
	for cands.Len() > 0 {
		c := heap.Pop(cands).(scored)
		if found.Len() >= ef && c.sim < (*found)[0].sim {
			break
		}
		for _, n := range g.nodes[c.node].links[level] {
			if !seen.mark(n) {
				continue
			}
			s := dot(q, g.nodes[n].vec)
			if found.Len() < ef || s > (*found)[0].sim {
				heap.Push(cands, scored{s, n})
				heap.Push(found, scored{s, n})
				if found.Len() > ef {
					heap.Pop(found)
				}
			}
		}
	}
	out := []scored(*found)
	slices.SortFunc(out, func(a, b scored) int { return compareSim(b, a) })
	return out
}

// compareSim orders by similarity, then by node, so that results are stable.
func compareSim(a, b scored) int {
	switch {
	case a.sim < b.sim:
		return -1
	case a.sim > b.sim:
		return 1
	}
	return int(b.node - a.node)
}

// nearestFirst and farthestFirst are heaps of scored nodes (container/heap).
type (
	nearestFirst  []scored
	farthestFirst []scored
)

func (h nearestFirst) Len() int            { return len(h) }
func (h nearestFirst) Less(i, j int) bool  { return compareSim(h[i], h[j]) > 0 }
func (h nearestFirst) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *nearestFirst) Push(x any)         { *h = append(*h, x.(scored)) }
func (h *nearestFirst) Pop() any           { return pop((*[]scored)(h)) }
func (h farthestFirst) Len() int           { return len(h) }
func (h farthestFirst) Less(i, j int) bool { return compareSim(h[i], h[j]) < 0 }
func (h farthestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *farthestFirst) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *farthestFirst) Pop() any          { return pop((*[]scored)(h)) }

func pop(h *[]scored) scored {
	last := (*h)[len(*h)-1]
	*h = (*h)[:len(*h)-1]
	return last
}

// visited is a bitset of the nodes one search has reached, pooled so that
// a search does not allocate one per call.
type visited struct{ bits []uint64 }

var visitedPool = sync.Pool{New: func() any { return &visited{} }}

func (v *visited) reset(n int) {
	words := (n + 63) / 64
	if cap(v.bits) < words {
		v.bits = make([]uint64, words)
	}
	v.bits = v.bits[:words]
	clear(v.bits)
}

// mark records n and reports whether it was new.
func (v *visited) mark(n int32) bool {
	w, b := n/64, uint64(1)<<(n%64)
	if v.bits[w]&b != 0 {
		return false
	}
	v.bits[w] |= b
	return true
}

func (v *visited) release() { visitedPool.Put(v) }
