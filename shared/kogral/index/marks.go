package index

import "sync"

// marks is what a traversal notes by vertex, for each of the two searches
// of a path (side 0 and 1; connected uses side 0): whether it visited the
// vertex, and from where. It is kept between traversals and as long as the
// graph: each traversal allocated arrays of that length and filled them
// (two of 17 000 int32 set to -1 for a path on make bench's graph, most of
// what a traversal allocated), which is work and garbage in proportion to
// the graph rather than to what the traversal reached. A vertex counts as
// visited when its stamp is the traversal's epoch, so starting one clears
// nothing.
type marks struct {
	stamp  [2][]uint32
	parent [2][]int32
	epoch  uint32
}

var marksPool = sync.Pool{New: func() any { return new(marks) }}

// marksFor is a marks for a graph of n vertices with nothing visited.
func marksFor(n int) *marks {
	m := marksPool.Get().(*marks)
	if len(m.stamp[0]) < n {
		n += n / 4 // room for the graph to grow
		for side := range m.stamp {
			m.stamp[side], m.parent[side] = make([]uint32, n), make([]int32, n)
		}
		m.epoch = 0
	}
	m.epoch++
	if m.epoch == 0 { // wrapped: stamps of 2³² traversals ago would match
		for side := range m.stamp {
			clear(m.stamp[side])
		}
		m.epoch = 1
	}
	return m
}

// release gives m back for another traversal.
func (m *marks) release() { marksPool.Put(m) }

func (m *marks) visited(side int, v int32) bool { return m.stamp[side][v] == m.epoch }

// visit marks v visited from parent (itself for a root).
func (m *marks) visit(side int, v, parent int32) {
	m.stamp[side][v], m.parent[side][v] = m.epoch, parent
}

// depth is how many hops a visited v is from its side's root.
func (m *marks) depth(side int, v int32) int {
	d := 0
	for ; m.parent[side][v] != v; v = m.parent[side][v] {
		d++
	}
	return d
}
