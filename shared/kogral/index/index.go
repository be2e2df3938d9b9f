// Package index is Kogral's search index, in memory: BM25 over each node's
// analyzed terms, an HNSW graph over their embeddings (hnsw.go), and the
// graph's adjacency for traversals (adjacency.go), caught up with
// SurrealDB's change feeds before each read. The store (package kogral)
// reads it only through its exported methods (reads.go, Text, Nearest).
package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Index answers searches from memory: a BM25 inverted index over the
// words of each node as the analyzer gives them (analyze.go), and an HNSW
// graph over the nodes' embeddings (hnsw.go). SurrealDB stays
// the record: the index is rebuilt from it, and before each search it
// catches up with the table's change feed, so a search sees every write
// committed before it, from any instance.
//
// The same index keeps the graph's adjacency (adjacency.go) and each node as
// the API returns it, so that connected() and path() read nothing but the
// feeds. Both tables' feeds are read in one round trip, nodes applied first.
//
// The feeds are read through surreal.FeedCursor, which re-reads a window
// behind the newest stamp: measured on RocksDB, a read from the last
// versionstamp alone missed about 1 % of concurrent commits, which became
// visible after a later stamp had been read (TestFeedCursorMissesNothing).

// The graph is built in the background, one node at a time: a node waits in
// pending until it is linked, and searches compare the query with every
// pending node exactly, so a node is findable as soon as it is indexed.
//
// Why not SurrealDB's own indexes: measured here with 10 000 nodes, its
// FULLTEXT index took 45–120 ms to answer a one- or two-word query and its
// HNSW index 34 ms for 50 neighbours, against a 20 ms p99 target; this index
// answers in a few milliseconds at most.
type Index struct {
	db *surreal.Client

	syncMu sync.Mutex // one catch-up at a time
	loaded bool
	// nodesFeed and linksFeed are where the reads of each change feed stand
	// (a read re-reads a window behind the newest stamp: commits can become
	// visible out of stamp order; see surreal.FeedCursor).
	nodesFeed, linksFeed *surreal.FeedCursor
	deletesSeen          int       // deletes the feeds brought since the last load
	syncedAt             time.Time // when the last read of the feeds began

	// Nodes live in numbered slots, so that a query walks slices, not maps.
	mu       sync.RWMutex
	slots    map[string]int32 // node id → slot
	docs     []*indexedDoc    // by slot; nil when free
	free     []int32
	postings map[string]*postingList
	termIDs  map[string]uint32 // every word seen, numbered
	words    []string          // the words by number
	analyzer *analyzer         // numbers a node's words (its stems by folded word)
	totalLen int
	adj      *adjacency // the edges by node, both directions (adjacency.go)

	graph    *vectorGraph
	pending  []*indexedDoc // documents with an embedding, not yet in graph, oldest first
	building bool          // a builder goroutine is draining pending
	// exactBelow is how many documents must pass a semantic search's filter
	// for the graph to answer it (exactScanBelow; tests turn it down).
	exactBelow int
}

type indexedDoc struct {
	// rec is the node as the API returns it: traversals answer from it
	// without reading SurrealDB (a read of 200 nodes took 20–35 ms here).
	rec             Node
	id              string
	nodeType, graph string
	tags            []string
	// terms are its distinct words (by number, termIDs) with how often it
	// holds each: a slice without pointers rather than a map keyed by the
	// words, which kept a string and a map per document (17 000 maps, half a
	// million strings, a quarter of the heap) for the GC to mark at each cycle.
	terms       []termCount
	length      int
	seq         []uint32  // its words in order, as term numbers (termIDs), for proximity
	placeholder bool      // a page only linked to: out of search results unless asked for
	vec         []float32 // the embedding scaled to length 1; nil without one of Dimensions
	slot        int32
	node        int32 // in graph; -1 while pending or without a vector
}

// termCount is a word of a document (its number) and how often it occurs.
type termCount struct{ term, n uint32 }

// postingList is the nodes holding a term, with how often they hold it.
type postingList struct {
	slots []int32
	tf    []float64
}

// New is an empty index over db; the first Sync loads it.
func New(db *surreal.Client) *Index {
	x := &Index{db: db, exactBelow: exactScanBelow}
	x.reset()
	return x
}

// reset empties the index. A builder at work notices the new graph and
// starts on the new pending list.
func (x *Index) reset() {
	x.slots, x.docs, x.free, x.postings, x.totalLen = map[string]int32{}, nil, nil, map[string]*postingList{}, 0
	x.termIDs, x.words, x.analyzer = map[string]uint32{}, nil, newAnalyzer()
	x.adj = newAdjacency()
	x.graph, x.pending = newVectorGraph(), nil
}

// BM25 parameters, SurrealDB's defaults.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// feedPage is how many change-feed entries one round trip reads.
const feedPage = 1000

// reloadAfter bounds how long an index may go without reading the feed
// before it reloads instead: the feed keeps a day (schemas/surreal/kogral/002).
const reloadAfter = 12 * time.Hour

// indexRow is what the index keeps of a node, as the scan and the change
// feed give it: what it searches by, and the node as the API returns it.
type indexRow struct {
	ID        any            `json:"id"` // a string from the scan, a record id from the feed
	NodeType  string         `json:"node_type"`
	GraphID   string         `json:"graph_id"`
	Tags      []string       `json:"tags"`
	Embedding any            `json:"embedding"`
	Title     string         `json:"title"`
	Content   string         `json:"content"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// rawChangeSet is one transaction's changes to a table, as SHOW CHANGES
// gives it, the changes left encoded until the index knows it has not read
// the set before (FeedCursor.Unread). The windows a read goes back over
// bring the newest sets again and again until the feed settles: after a
// bulk import, each read for half a second decoded the last 1 000 changes
// again (about 20 ms a request), and during the import those decodings
// took a tenth of the process's CPU.
type rawChangeSet struct {
	Versionstamp uint64          `json:"versionstamp"`
	Changes      surreal.RawCBOR `json:"changes"`
}

// change is one change of a set: a record written, or one deleted.
type change struct {
	Update *feedRow `json:"update"`
	Delete *struct {
		ID models.RecordID `json:"id"`
	} `json:"delete"`
}

// news is a change set read for the first time, decoded.
type news struct {
	vs      uint64
	changes []change
}

// unread decodes the sets of a feed that cursor c has not read before.
func unread(c *surreal.FeedCursor, sets []rawChangeSet) ([]news, error) {
	var out []news
	for _, set := range sets {
		if !c.Unread(set.Versionstamp) {
			continue
		}
		var changes []change
		if err := surreal.UnmarshalCBOR(set.Changes, &changes); err != nil {
			return nil, fmt.Errorf("change set %d: %w", set.Versionstamp, err)
		}
		out = append(out, news{vs: set.Versionstamp, changes: changes})
	}
	return out, nil
}

// Sync brings the index up to date: a full load the first time (or after a
// long idle), then the change feeds since the last read.
//
// Concurrent searches share a read: one that finds the feeds were read after
// it arrived has nothing to wait for. It arrived when ctx says (WithArrival),
// else now: the reads of one request share the first one's catch-up.
func (x *Index) Sync(ctx context.Context) error {
	arrived, ok := ctx.Value(arrivalKey{}).(time.Time)
	if !ok {
		arrived = time.Now()
	}
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	switch {
	case !x.loaded || time.Since(x.syncedAt) > reloadAfter:
		return x.load(ctx)
	case x.syncedAt.After(arrived):
		return nil
	}
	return x.follow(ctx)
}

type arrivalKey struct{}

// WithArrival is ctx for a request that arrived at t: every Sync for it sees
// each write committed before t, and one that finds the feeds read since t
// (by an earlier Sync for the same request, or for another) reads nothing.
func WithArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, t)
}

// ArrivalOf is the arrival WithArrival gave ctx (zero: none).
func ArrivalOf(ctx context.Context) time.Time {
	t, _ := ctx.Value(arrivalKey{}).(time.Time)
	return t
}

// loadTries bounds the scans of a load that deletes kept overtaking.
const loadTries = 3

// load reads every node and edge, then the feeds from just before the read,
// so that a write that raced the scan is applied too (applying one twice is
// harmless). A scan of several pages can skip a row when an earlier row is
// deleted between two pages (the rest shift back by one) and an unchanged
// row never comes back through the feed, so a paged scan that a delete
// overlapped is done again.
func (x *Index) load(ctx context.Context) error {
	for try := 1; ; try++ {
		paged, err := x.loadOnce(ctx)
		if err != nil || !paged || x.deletesSeen == 0 || try == loadTries {
			return err
		}
	}
}

// loadOnce scans both tables and follows the feeds; paged says a table took
// more than one page.
func (x *Index) loadOnce(ctx context.Context) (paged bool, err error) {
	nodesFeed, err := surreal.StartFeed(ctx, x.db)
	if err != nil {
		return false, fmt.Errorf("load search index: %w", err)
	}
	linksFeed, err := surreal.StartFeed(ctx, x.db)
	if err != nil {
		return false, fmt.Errorf("load search index: %w", err)
	}
	rows, err := loadPaged[indexRow](ctx, x.db, "SELECT record::id(id) AS id, node_type, graph_id, tags, embedding, title, content, "+
		"metadata, created_at, updated_at FROM nodes")
	if err != nil {
		return false, fmt.Errorf("load search index: %w", err)
	}
	links, err := loadPaged[linkRow](ctx, x.db, "SELECT id, in, out, relation, weight, metadata FROM links")
	if err != nil {
		return false, fmt.Errorf("load graph adjacency: %w", err)
	}
	x.mu.Lock()
	x.reset()
	for i := range rows {
		x.put(&rows[i])
	}
	for i := range links {
		x.adj.put(&links[i])
	}
	x.mu.Unlock()
	x.nodesFeed, x.linksFeed, x.deletesSeen = nodesFeed, linksFeed, 0
	if err := x.follow(ctx); err != nil {
		return false, err
	}
	x.loaded = true
	return len(rows) >= loadPage || len(links) >= loadPage, nil
}

// loadPage is how many rows one round trip of a full load reads: a whole
// table in one answer can outlast a round trip's timeout.
const loadPage = 2000

// loadPaged reads a whole table, page by page (the feed read after it
// catches what changed meanwhile).
func loadPaged[R any](ctx context.Context, db *surreal.Client, sql string) ([]R, error) {
	var all []R
	for start := 0; ; start += loadPage {
		rows, err := surreal.Query[[]R](ctx, db, fmt.Sprintf("%s START %d LIMIT %d", sql, start, loadPage), nil)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if len(rows) < loadPage {
			return all, nil
		}
	}
}

// follow applies the nodes' and the edges' feeds from their cursors, both
// read in one round trip per page. Nodes are applied first, so that an
// edge's ends are known when it is.
func (x *Index) follow(ctx context.Context) error {
	began := time.Now() // every write committed before this is in what we read
	nodesFrom, linksFrom := x.nodesFeed.From(began), x.linksFeed.From(began)
	for {
		res, err := surreal.QueryAll[[]rawChangeSet](ctx, x.db, fmt.Sprintf(
			"SHOW CHANGES FOR TABLE nodes SINCE %d LIMIT %d; SHOW CHANGES FOR TABLE links SINCE %d LIMIT %d",
			nodesFrom, feedPage, linksFrom, feedPage), nil)
		if err != nil {
			return fmt.Errorf("follow node and edge changes: %w", err)
		}
		if len(res) != 2 {
			return fmt.Errorf("follow node and edge changes: %d results, want 2", len(res))
		}
		nodes, err := unread(x.nodesFeed, res[0])
		if err == nil {
			var links []news
			if links, err = unread(x.linksFeed, res[1]); err == nil {
				x.mu.Lock()
				x.applyNodes(nodes)
				x.applyLinks(links)
				x.mu.Unlock()
			}
		}
		if err != nil {
			// The cursors count the sets as read: only a reload can
			// bring their changes back.
			x.loaded = false
			return fmt.Errorf("follow node and edge changes: %w", err)
		}
		if len(res[0]) < feedPage && len(res[1]) < feedPage {
			x.syncedAt = began // only once the whole feed is read
			return nil
		}
		nodesFrom, linksFrom = pastLast(res[0], nodesFrom), pastLast(res[1], linksFrom)
	}
}

// pastLast is the SINCE of the next page of a feed: past its last change set.
func pastLast(sets []rawChangeSet, from uint64) uint64 {
	if len(sets) == 0 {
		return from
	}
	return sets[len(sets)-1].Versionstamp + 1
}

// feedRow is a changed node or edge: the fields of both that the index
// keeps (spelled out: the CBOR decoder does not fill embedded structs).
type feedRow struct {
	ID        any              `json:"id"`
	NodeType  string           `json:"node_type"`
	GraphID   string           `json:"graph_id"`
	Tags      []string         `json:"tags"`
	Embedding any              `json:"embedding"`
	Title     string           `json:"title"`
	Content   string           `json:"content"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
	In        *models.RecordID `json:"in"`
	Out       *models.RecordID `json:"out"`
	Relation  string           `json:"relation"`
	Weight    float64          `json:"weight"`
	Metadata  map[string]any   `json:"metadata"`
}

// applyNodes applies the news of the nodes' feed. Callers hold mu.
func (x *Index) applyNodes(sets []news) {
	for _, set := range sets {
		for _, c := range set.changes {
			switch {
			case c.Update != nil && x.nodesFeed.Fresh(recordKey(c.Update.ID), set.vs):
				u := c.Update
				x.put(&indexRow{ID: u.ID, NodeType: u.NodeType, GraphID: u.GraphID, Tags: u.Tags, Embedding: u.Embedding,
					Title: u.Title, Content: u.Content, Metadata: u.Metadata, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
			case c.Delete != nil && x.nodesFeed.Fresh(fmt.Sprint(c.Delete.ID.ID), set.vs):
				x.remove(fmt.Sprint(c.Delete.ID.ID))
				x.deletesSeen++
			}
		}
		x.nodesFeed.Saw(set.vs)
	}
}

// applyLinks applies the news of the edges' feed. Callers hold mu.
func (x *Index) applyLinks(sets []news) {
	for _, set := range sets {
		for _, c := range set.changes {
			switch {
			case c.Update != nil && c.Update.In != nil && c.Update.Out != nil && x.linksFeed.Fresh(recordKey(c.Update.ID), set.vs):
				id, _ := c.Update.ID.(models.RecordID)
				x.adj.put(&linkRow{ID: id, In: *c.Update.In, Out: *c.Update.Out, Relation: c.Update.Relation,
					Weight: c.Update.Weight, Metadata: c.Update.Metadata})
			case c.Delete != nil && x.linksFeed.Fresh(fmt.Sprint(c.Delete.ID.ID), set.vs):
				x.adj.remove(fmt.Sprint(c.Delete.ID.ID))
				x.deletesSeen++
			}
		}
		x.linksFeed.Saw(set.vs)
	}
}

// recordKey is the id a feed row's record is kept under.
func recordKey(id any) string {
	if rid, ok := id.(models.RecordID); ok {
		return fmt.Sprint(rid.ID)
	}
	return fmt.Sprint(id)
}

// put indexes a node, replacing what was indexed under its id. Callers hold mu.
func (x *Index) put(r *indexRow) {
	id := recordKey(r.ID)
	x.remove(id)
	d := &indexedDoc{id: id, nodeType: r.NodeType, graph: r.GraphID, tags: r.Tags, vec: unit(vector(r.Embedding)), node: -1,
		rec: Node{ID: id, NodeType: r.NodeType, Title: r.Title, Content: r.Content, Metadata: r.Metadata, Tags: r.Tags, GraphID: r.GraphID,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}}
	if d.rec.Metadata == nil {
		d.rec.Metadata = map[string]any{}
	}
	if d.rec.Tags == nil {
		d.rec.Tags = []string{}
	}
	d.placeholder, _ = d.rec.Metadata["placeholder"].(bool)
	d.seq = slices.Clip(x.analyzer.seq(nil, DocumentText(r.Title, r.Tags, r.Content), x.termID))
	d.length = len(d.seq)
	d.terms = countTerms(d.seq)
	var slot int32
	if n := len(x.free); n > 0 {
		slot, x.free = x.free[n-1], x.free[:n-1]
		x.docs[slot] = d
	} else {
		slot = int32(len(x.docs))
		x.docs = append(x.docs, d)
	}
	d.slot = slot
	x.slots[id] = slot
	x.adj.hold(id, d.graph)
	for _, tc := range d.terms {
		t := x.words[tc.term]
		p := x.postings[t]
		if p == nil {
			p = &postingList{}
			x.postings[t] = p
		}
		p.slots, p.tf = append(p.slots, slot), append(p.tf, float64(tc.n))
	}
	x.totalLen += d.length
	if d.vec != nil {
		x.pending = append(x.pending, d)
		if !x.building {
			x.building = true
			go x.build()
		}
	}
}

// termID numbers a word. Callers hold mu.
func (x *Index) termID(t string) uint32 {
	id, ok := x.termIDs[t]
	if !ok {
		id = uint32(len(x.termIDs))
		x.termIDs[t] = id
		x.words = append(x.words, t)
	}
	return id
}

// countTerms is each distinct word of seq with how often it occurs.
func countTerms(seq []uint32) []termCount {
	sorted := slices.Clone(seq)
	slices.Sort(sorted)
	var out []termCount
	for i, t := range sorted {
		if i == 0 || t != sorted[i-1] {
			out = append(out, termCount{term: t})
		}
		out[len(out)-1].n++
	}
	return slices.Clip(out)
}

// remove drops a node from the index. Callers hold mu.
func (x *Index) remove(id string) {
	slot, ok := x.slots[id]
	if !ok {
		return
	}
	d := x.docs[slot]
	for _, tc := range d.terms {
		t := x.words[tc.term]
		p := x.postings[t]
		if i := slices.Index(p.slots, slot); i >= 0 {
			last := len(p.slots) - 1
			p.slots[i], p.tf[i] = p.slots[last], p.tf[last]
			p.slots, p.tf = p.slots[:last], p.tf[:last]
		}
		if len(p.slots) == 0 {
			delete(x.postings, t)
		}
	}
	x.totalLen -= d.length
	x.docs[slot] = nil
	x.free = append(x.free, slot)
	delete(x.slots, id)
	x.adj.setLive(id, false)
	if d.node >= 0 {
		x.graph.nodes[d.node].slot = -1
		x.graph.dead++
		if x.graph.dead >= graphRebuildDead && 2*x.graph.dead > len(x.graph.nodes) {
			x.rebuildGraph()
		}
	}
}

// graphRebuildDead is how many dead nodes, once they are half the graph,
// make it worth rebuilding the graph rather than walking through them.
const graphRebuildDead = 64

// rebuildGraph starts a new graph: every document goes back to pending.
// Callers hold mu.
func (x *Index) rebuildGraph() {
	x.graph, x.pending = newVectorGraph(), nil
	for _, d := range x.docs {
		if d != nil && d.vec != nil {
			d.node = -1
			x.pending = append(x.pending, d)
		}
	}
}

// build links pending documents into the graph, one at a time, until none
// is left. Each is planned under the read lock, alongside searches, and
// linked under the write lock, so a search waits for one link at most.
// After each step it rests as long as the step took: on a cold Lambda
// instance the builder then takes at most half of the CPU, and requests
// (which scan what is pending) keep the rest.
func (x *Index) build() {
	for {
		began := time.Now()
		if !x.buildOne() {
			return
		}
		time.Sleep(time.Since(began))
	}
}

// buildOne links the oldest pending document; false when pending is empty
// (the builder has then stopped, and the next put starts another).
func (x *Index) buildOne() bool {
	x.mu.RLock()
	g := x.graph
	var d *indexedDoc
	var ins *insertion
	if len(x.pending) > 0 {
		d = x.pending[0]
		if x.holds(d) {
			ins = g.plan(d.vec, d.slot)
		}
	}
	x.mu.RUnlock()

	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.pending) == 0 {
		x.building = false
		return false
	}
	if x.graph != g || x.pending[0] != d {
		return true // reset or rebuilt meanwhile: start on the new list
	}
	x.pending[0], x.pending = nil, x.pending[1:]
	if ins != nil && x.holds(d) {
		d.node = g.link(ins)
	}
	return true
}

// holds reports whether d is still the indexed version of its node. Callers hold mu.
func (x *Index) holds(d *indexedDoc) bool {
	return int(d.slot) < len(x.docs) && x.docs[d.slot] == d
}

// isWord keeps the analyzer's word tokens and drops its punctuation ones.
func isWord(t string) bool {
	return strings.IndexFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// vector reads a stored embedding: little-endian float32 bytes, or (as
// written before schemas/surreal/kogral/002) an array of numbers.
func vector(v any) []float32 {
	switch e := v.(type) {
	case []byte:
		out := make([]float32, len(e)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(e[4*i:]))
		}
		return out
	case []any:
		out := make([]float32, 0, len(e))
		for _, n := range e {
			switch f := n.(type) {
			case float64:
				out = append(out, float32(f))
			case float32:
				out = append(out, f)
			}
		}
		return out
	}
	return nil
}

// unit scales v to length 1, or is nil when v is not an embedding of Dimensions.
func unit(v []float32) []float32 {
	if len(v) != embed.Dimensions {
		return nil
	}
	var sum float32
	for _, f := range v {
		sum += f * f
	}
	if sum == 0 || math.IsNaN(float64(sum)) || math.IsInf(float64(sum), 0) {
		return nil
	}
	n := float32(1 / math.Sqrt(float64(sum)))
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = f * n
	}
	return out
}

// VectorBytes is how an embedding is stored.
func VectorBytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(f))
	}
	return out
}

// Ranked is a node id with its score.
type Ranked struct {
	ID    string
	Score float64
}

// matches reports whether a document passes a filter (tag without its
// '#'); a placeholder page only when the filter asks for them.
func (d *indexedDoc) matches(f Filter) bool {
	return (f.NodeType == "" || d.nodeType == f.NodeType) && (f.GraphID == "" || d.graph == f.GraphID) &&
		(f.Tag == "" || slices.Contains(d.tags, f.Tag)) && (!d.placeholder || f.Placeholders) &&
		(f.Visible == nil || f.Visible(d.graph))
}

// visibleNode reports whether the index holds node id in a graph visible
// accepts (every graph when visible is nil). Callers hold mu.
func (x *Index) visibleNode(id string, visible func(string) bool) bool {
	slot, ok := x.slots[id]
	return ok && (visible == nil || visible(x.docs[slot].graph))
}

// visibleEdges keeps the edges whose two ends are visible. Callers hold mu.
func (x *Index) visibleEdges(edges []Edge, visible func(string) bool) []Edge {
	if visible == nil {
		return edges
	}
	out := []Edge{}
	for _, e := range edges {
		if x.visibleNode(e.Source, visible) && x.visibleNode(e.Target, visible) {
			out = append(out, e)
		}
	}
	return out
}

// lastAnswer is visible remembering its last answer, for one search or
// traversal (not safe for concurrent use): documents and vertices in a row
// mostly share a graph, and visible (the caller's decisions, behind a lock)
// was asked once for each of the 17 000 documents of a semantic search.
func lastAnswer(visible func(string) bool) func(string) bool {
	if visible == nil {
		return nil
	}
	var last string
	var answer, asked bool
	return func(graph string) bool {
		if !asked || graph != last {
			last, answer, asked = graph, visible(graph), true
		}
		return answer
	}
}

// passes is the vertices a traversal may go through: nodes the index holds,
// in graphs visible accepts. Callers hold mu.
func (x *Index) passes(visible func(string) bool) func(v int32) bool {
	visible = lastAnswer(visible)
	return func(v int32) bool {
		return x.adj.live[v] && (visible == nil || visible(x.adj.graphs[v]))
	}
}

// maxTerms bounds the distinct words of a text query.
const maxTerms = 8

// Text ranks the nodes that pass f by the query's words (the first
// maxTerms distinct ones, stopwords left out when others remain), each
// optional: those holding more of them first, then by BM25 times a
// proximity boost (up to 1.5 when the words stand together, as a phrase).
func (x *Index) Text(terms []string, f Filter, limit int) []Ranked {
	x.mu.RLock()
	defer x.mu.RUnlock()
	f.Visible = lastAnswer(f.Visible)
	terms = WithoutStopwords(UniqueWords(terms))
	terms = terms[:min(len(terms), maxTerms)]
	if len(terms) == 0 || len(x.slots) == 0 {
		return nil
	}
	n := float64(len(x.slots))
	avg := float64(x.totalLen) / n
	sc := scratchFor(len(x.docs))
	defer sc.release()
	scores, held := sc.scores, sc.held
	for _, t := range terms {
		p := x.postings[t]
		if p == nil {
			continue
		}
		idf := math.Log(1 + (n-float64(len(p.slots))+0.5)/(float64(len(p.slots))+0.5))
		for i, slot := range p.slots {
			tf := p.tf[i]
			k := bm25K1 * (1 - bm25B + bm25B*float64(x.docs[slot].length)/avg)
			scores[slot] += idf * tf * (bm25K1 + 1) / (tf + k)
			if held[slot] == 0 {
				sc.touched = append(sc.touched, slot)
			}
			held[slot]++
		}
	}
	// The best by words held, then BM25; the proximity boost reorders them
	// within each number of words held.
	const heldWeight = 1e6
	pool := NewTopK(max(limit*4, 40))
	for _, slot := range sc.touched {
		if x.docs[slot].matches(f) {
			pool.Offer(x.docs[slot].id, float64(held[slot])*heldWeight+scores[slot])
		}
	}
	ids := make([]uint32, 0, len(terms))
	for _, t := range terms {
		if id, ok := x.termIDs[t]; ok {
			ids = append(ids, id)
		}
	}
	type cand struct {
		r    Ranked
		held uint8
	}
	cands := make([]cand, 0, pool.Len())
	for _, r := range pool.Sorted() {
		slot := x.slots[r.ID]
		h := held[slot]
		cands = append(cands, cand{Ranked{r.ID, scores[slot] * proximity(x.docs[slot].seq, ids, int(h))}, h})
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		return a.held > b.held || a.held == b.held && better(a.r, b.r)
	})
	out := make([]Ranked, 0, min(limit, len(cands)))
	for _, c := range cands[:min(limit, len(cands))] {
		out = append(out, c.r)
	}
	return out
}

// textScratch is a text search's tallies by slot, kept between searches
// (two slices as long as the index, 90 KB at 10 000 nodes, were allocated
// and zeroed by every search) and cleared where a search wrote them.
type textScratch struct {
	scores  []float64
	held    []uint8
	touched []int32 // the slots holding a query word
}

var textScratches = sync.Pool{New: func() any { return new(textScratch) }}

// scratchFor is a cleared scratch for an index of n slots.
func scratchFor(n int) *textScratch {
	sc := textScratches.Get().(*textScratch)
	if len(sc.scores) < n {
		sc.scores, sc.held = make([]float64, n), make([]uint8, n)
	}
	return sc
}

// release clears what the search wrote and gives the scratch back.
func (sc *textScratch) release() {
	for _, slot := range sc.touched {
		sc.scores[slot], sc.held[slot] = 0, 0
	}
	sc.touched = sc.touched[:0]
	textScratches.Put(sc)
}

// proximityScan bounds how many words of a document proximity reads.
const proximityScan = 20000

// proximity is 1 + 0.5·(held−1)/(w−1), w the fewest consecutive words of
// seq holding every query word it holds: 1.5 for a phrase, near 1 for
// words far apart, 1 when it holds fewer than two.
func proximity(seq []uint32, ids []uint32, held int) float64 {
	if held < 2 {
		return 1
	}
	seq = seq[:min(len(seq), proximityScan)]
	want := map[uint32]int{}
	for _, id := range ids {
		want[id] = 0
	}
	have, best, from := 0, len(seq)+1, 0
	for i, t := range seq {
		c, ok := want[t]
		if !ok {
			continue
		}
		if c == 0 {
			have++
		}
		want[t] = c + 1
		for have == held {
			if w := i - from + 1; w < best {
				best = w
			}
			if c, ok := want[seq[from]]; ok {
				if want[seq[from]] = c - 1; c == 1 {
					have--
				}
			}
			from++
		}
	}
	if best > len(seq) || best < held {
		return 1
	}
	if best == held {
		return 1.5
	}
	return 1 + 0.5*float64(held-1)/float64(best-1)
}

// Semantic search: the graph answers when many documents pass the filter;
// a scan is exact, and cheaper, when few do. Measured on make bench's
// texts at 10 000 nodes, a beam of 256 finds 96 % of the true 10 nearest
// (128: 90 %) and costs about 0.6 of a scan, which puts the break-even
// near 6 000 nodes; a scan's cost grows with the nodes, the graph's barely.
const (
	exactScanBelow = 5000 // documents passing the filter
	graphEfSearch  = 256  // the graph search's beam, for an unfiltered query
)

// Nearest ranks the nodes that pass f by cosine similarity to q: the k
// best, approximately (through the graph) when more than exactScanBelow
// pass, exactly otherwise or when the graph finds too few.
func (x *Index) Nearest(q []float32, f Filter, k int) []Ranked {
	x.mu.RLock()
	defer x.mu.RUnlock()
	f.Visible = lastAnswer(f.Visible)
	q = unit(q)
	if q == nil || k <= 0 {
		return nil
	}
	searchable, passing := 0, 0
	for _, d := range x.docs {
		if d != nil && d.vec != nil {
			searchable++
			if d.matches(f) {
				passing++
			}
		}
	}
	if passing > x.exactBelow {
		// A filter that lets through one document in r asks for a beam r
		// times wider, to end with as many that pass.
		g := x.graph
		ef := max(graphEfSearch, k) * searchable / passing
		if ef < len(g.nodes)/2 {
			best := NewTopK(k)
			for _, c := range g.search(q, ef) {
				if slot := g.nodes[c.node].slot; slot >= 0 && x.docs[slot].matches(f) {
					best.Offer(x.docs[slot].id, float64(c.sim))
				}
			}
			for _, d := range x.pending {
				if x.holds(d) && d.matches(f) {
					best.Offer(d.id, float64(dot(d.vec, q)))
				}
			}
			if best.Len() >= min(k, passing) {
				return best.Sorted()
			}
		}
	}
	best := NewTopK(k)
	for _, d := range x.docs {
		if d != nil && d.vec != nil && d.matches(f) {
			best.Offer(d.id, float64(dot(d.vec, q)))
		}
	}
	return best.Sorted()
}

// TopK keeps the k best of what it is offered (by score, then id).
type TopK struct {
	k    int
	rows []Ranked // best first
}

// NewTopK keeps the k best.
func NewTopK(k int) *TopK { return &TopK{k: k} }

// Len is how many it holds.
func (t *TopK) Len() int { return len(t.rows) }

func better(a, b Ranked) bool { return a.Score > b.Score || (a.Score == b.Score && a.ID < b.ID) }

// Offer keeps id if it is among the k best so far.
func (t *TopK) Offer(id string, score float64) {
	r := Ranked{id, score}
	if t.k <= 0 || (len(t.rows) == t.k && !better(r, t.rows[len(t.rows)-1])) {
		return
	}
	i := sort.Search(len(t.rows), func(i int) bool { return better(r, t.rows[i]) })
	if len(t.rows) < t.k {
		t.rows = append(t.rows, Ranked{})
	}
	copy(t.rows[i+1:], t.rows[i:len(t.rows)-1])
	t.rows[i] = r
}

// Sorted is what it keeps, best first.
func (t *TopK) Sorted() []Ranked { return t.rows }

// UniqueWords are the words among terms, each once, in order.
func UniqueWords(terms []string) []string {
	var out []string
	for _, t := range terms {
		if isWord(t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// nodes are the indexed nodes with these ids, in that order (metadata
// copied, so that a caller may change it); ids the index does not hold are
// left out. Callers hold mu for reading.
func (x *Index) nodes(ids []string) []Node {
	out := make([]Node, 0, len(ids))
	for _, id := range ids {
		if slot, ok := x.slots[id]; ok {
			n := x.docs[slot].rec
			n.Metadata = maps.Clone(n.Metadata)
			out = append(out, n)
		}
	}
	return out
}
