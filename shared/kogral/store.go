package kogral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/kogral/index"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
	"github.com/stratumiops/stratumiops/shared/kogral/model"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Backend is Kogral's operations: the SurrealDB Store in the functions, and
// the HTTP Client in the CLI and the stdio MCP server.
type Backend interface {
	CreateNode(ctx context.Context, in NodeInput) (Node, error)
	UpdateNode(ctx context.Context, id string, in NodeInput) (Node, error)
	GetNode(ctx context.Context, id string) (Node, error)
	DeleteNode(ctx context.Context, id string) error
	ListNodes(ctx context.Context, f Filter) ([]Node, error)
	Link(ctx context.Context, e Edge) (Edge, error)
	Unlink(ctx context.Context, source, target, relation string) error
	Edges(ctx context.Context, id string, dir EdgeDirection) ([]Edge, error)
	Search(ctx context.Context, q SearchQuery) ([]Hit, error)
	Connected(ctx context.Context, id string, depth, limit int) (Subgraph, error)
	Path(ctx context.Context, from, to string) (Subgraph, error)
	Graphs(ctx context.Context) ([]GraphInfo, error)
	Guidelines(ctx context.Context, project string) ([]EffectiveGuideline, error)
	Export(ctx context.Context, graph string) (Subgraph, error)
	Import(ctx context.Context, g Subgraph) (ImportResult, error)
	Blocks(ctx context.Context, id string) ([]Block, error)
	AddDecision(ctx context.Context, d DecisionRecord) (Node, error)
}

// Filter narrows a listing.
type Filter struct {
	NodeType string `json:"node_type,omitempty"`
	Tag      string `json:"tag,omitempty"`
	GraphID  string `json:"graph_id,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// SearchQuery is a search: full-text, semantic, or both (hybrid).
// Placeholders asks for the empty pages of names only linked to, which
// searches leave out otherwise. Full asks the API for each hit's whole
// content (a hit carries a snippet; the Store always fills both).
type SearchQuery struct {
	Query        string `json:"query"`
	Semantic     bool   `json:"semantic"`
	Placeholders bool   `json:"placeholders,omitempty"`
	Full         bool   `json:"full,omitempty"`
	Filter
}

// Hit is a search result with its score and what matched: for a node with
// an outline (a Logseq page), the block that holds most of the query's words.
type Hit struct {
	Node  Node      `json:"node"`
	Score float64   `json:"score"`
	Via   string    `json:"via"` // text, semantic or hybrid
	Block *BlockHit `json:"block,omitempty"`
	// Snippet is the part of the content (or of the matched block) around
	// the query's words, each written **word**.
	Snippet string `json:"snippet"`
}

// BlockHit names the block of a page a search matched.
type BlockHit struct {
	ID      string `json:"id"`
	Content string `json:"content"`
	Line    int    `json:"line"`
}

// Subgraph is nodes and the edges among them (package model).
type Subgraph = model.Subgraph

// ImportResult counts what an import wrote. Conflicts are the ids of nodes
// it left alone because a node of that id is in another graph (and the
// edges touching them).
type ImportResult struct {
	Nodes     int      `json:"nodes"`
	Edges     int      `json:"edges"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// EffectiveGuideline is a guideline that applies to a project, and where it came from.
type EffectiveGuideline struct {
	Node      Node   `json:"node"`
	Source    string `json:"source"` // project or shared
	Overrides string `json:"overrides,omitempty"`
}

// Store keeps the graph in SurrealDB (database "kogral").
type Store struct {
	db    *surreal.Client
	embed embed.Embedder
	index *index.Index
	now   func() time.Time
}

// NewStore returns a store embedding with e.
func NewStore(db *surreal.Client, e embed.Embedder) *Store {
	return &Store{db: db, embed: e, index: index.New(db), now: func() time.Time { return time.Now().UTC() }}
}

func nodeID(id string) models.RecordID { return models.NewRecordID("nodes", id) }

const nodeFields = "record::id(id) AS id, node_type, title, content, metadata, tags, graph_id, created_at, updated_at"

// embedText is a node's embedding as stored (vectorBytes).
func (s *Store) embedText(ctx context.Context, in NodeInput) ([]byte, error) {
	v, err := s.embed.Embed(ctx, []string{in.Title + "\n" + strings.Join(in.Tags, " ") + "\n" + in.Content})
	if err != nil {
		return nil, err
	}
	return index.VectorBytes(v[0]), nil
}

func (s *Store) ensureGraph(ctx context.Context, graph string) error {
	kind := "Project"
	if graph == SharedGraph {
		kind = "Shared"
	}
	_, err := surreal.Query[any](ctx, s.db, "INSERT IGNORE INTO graphs { id: $id, name: $name, graph_type: $kind }",
		map[string]any{"id": models.NewRecordID("graphs", graph), "name": graph, "kind": kind})
	if err != nil {
		return fmt.Errorf("ensure graph %s: %w", graph, err)
	}
	return nil
}

// CreateNode adds a node; without an id it gets one from its title.
func (s *Store) CreateNode(ctx context.Context, in NodeInput) (Node, error) {
	if err := in.Check(); err != nil {
		return Node{}, err
	}
	vec, err := s.embedText(ctx, in)
	if err != nil {
		return Node{}, err
	}
	if err := s.ensureGraph(ctx, in.GraphID); err != nil {
		return Node{}, err
	}
	id, explicit := in.ID, in.ID != ""
	if !explicit {
		id = NewID(in.GraphID, in.Title)
	}
	for attempt := 0; ; attempt++ {
		rows, err := surreal.Query[[]Node](ctx, s.db, `CREATE $id CONTENT { node_type: $n.node_type, title: $n.title, content: $n.content,
			metadata: $n.metadata, tags: $n.tags, graph_id: $n.graph_id, embedding: $vec, created_at: time::now(), updated_at: time::now() }
			RETURN `+nodeFields, map[string]any{"id": nodeID(id), "n": in.fields(), "vec": vec})
		if err == nil && len(rows) == 1 {
			return rows[0], nil
		}
		var qe *surreal.QueryError
		if errors.As(err, &qe) && strings.Contains(qe.Message, "already exists") {
			if explicit {
				return Node{}, &ConflictError{Msg: fmt.Sprintf("node %q already exists", id)}
			}
			if attempt < 5 {
				id = fmt.Sprintf("%s-%d", NewID(in.GraphID, in.Title), s.now().UnixNano()%100000)
				continue
			}
		}
		return Node{}, fmt.Errorf("create node: %w", err)
	}
}

// fields is a checked input as SurrealDB statement parameters (every field
// present: an empty map is an empty object, not NONE).
func (in NodeInput) fields() map[string]any {
	return map[string]any{"node_type": in.NodeType, "title": in.Title, "content": in.Content, "metadata": in.Metadata,
		"tags": in.Tags, "graph_id": in.GraphID}
}

// ConflictError is a write that clashes with what exists (HTTP 409).
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// UpdateNode replaces a node's type, title, content, metadata and tags. A
// node stays in its graph under its id: an input naming another id or
// another graph is refused (400), the graph compared in the statement.
func (s *Store) UpdateNode(ctx context.Context, id string, in NodeInput) (Node, error) {
	if in.ID != "" && in.ID != id {
		return Node{}, invalid("id %q: node %q keeps its id (renaming is not supported)", in.ID, id)
	}
	graph := in.GraphID
	in.ID = ""
	if err := in.Check(); err != nil {
		return Node{}, err
	}
	vec, err := s.embedText(ctx, in)
	if err != nil {
		return Node{}, err
	}
	rows, err := surreal.Query[[]Node](ctx, s.db, `UPDATE $id SET node_type = $n.node_type, title = $n.title, content = $n.content,
		metadata = $n.metadata, tags = $n.tags, embedding = $vec, updated_at = time::now()
		WHERE $graph = "" OR graph_id = $graph RETURN `+nodeFields,
		map[string]any{"id": nodeID(id), "n": in.fields(), "vec": vec, "graph": graph})
	if err != nil {
		return Node{}, fmt.Errorf("update node: %w", err)
	}
	if len(rows) == 0 {
		n, err := s.GetNode(ctx, id)
		if err != nil {
			return Node{}, err
		}
		return Node{}, invalid("graph_id %q: node %q is in graph %q; moving a node between graphs is not supported", graph, id, n.GraphID)
	}
	return rows[0], nil
}

func (s *Store) GetNode(ctx context.Context, id string) (Node, error) {
	if !idPattern.MatchString(id) {
		return Node{}, invalid("node id %q is malformed", id)
	}
	n, err := surreal.Query[*Node](ctx, s.db, "SELECT "+nodeFields+" FROM ONLY $id", map[string]any{"id": nodeID(id)})
	if err != nil {
		return Node{}, fmt.Errorf("read node: %w", err)
	}
	if n == nil {
		return Node{}, &NotFoundError{What: fmt.Sprintf("node %q", id)}
	}
	return *n, nil
}

// DeleteNode removes a node and its edges.
func (s *Store) DeleteNode(ctx context.Context, id string) error {
	if _, err := s.GetNode(ctx, id); err != nil {
		return err
	}
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic("DELETE links WHERE in = $id OR out = $id; DELETE $id;"), map[string]any{"id": nodeID(id)})
	if err != nil {
		return fmt.Errorf("delete node: %w", err)
	}
	return nil
}

func filterSQL(f Filter, vars map[string]any) (string, error) {
	var where []string
	if f.NodeType != "" {
		t, err := NodeType(f.NodeType)
		if err != nil {
			return "", err
		}
		vars["type"] = t
		where = append(where, "node_type = $type")
	}
	if f.Tag != "" {
		vars["tag"] = strings.TrimPrefix(f.Tag, "#")
		where = append(where, "tags CONTAINS $tag")
	}
	if f.GraphID != "" {
		vars["graph"] = f.GraphID
		where = append(where, "graph_id = $graph")
	}
	return strings.Join(where, " AND "), nil
}

func limitOf(f Filter, def int) int {
	if f.Limit <= 0 {
		return def
	}
	return min(f.Limit, 1000)
}

// ListNodes lists nodes, newest first.
func (s *Store) ListNodes(ctx context.Context, f Filter) ([]Node, error) {
	vars := map[string]any{"limit": limitOf(f, 1000)}
	where, err := filterSQL(f, vars)
	if err != nil {
		return nil, err
	}
	if visible := visibleIn(ctx); visible != nil {
		graphs, err := s.visibleGraphs(ctx, visible)
		if err != nil {
			return nil, err
		}
		vars["visible"] = graphs
		if where != "" {
			where += " AND "
		}
		where += "graph_id IN $visible"
	}
	sql := "SELECT " + nodeFields + " FROM nodes"
	if where != "" {
		sql += " WHERE " + where
	}
	list, err := surreal.Query[[]Node](ctx, s.db, sql+" ORDER BY updated_at DESC LIMIT $limit", vars)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return nonNilNodes(list), nil
}

func nonNilNodes(n []Node) []Node {
	if n == nil {
		return []Node{}
	}
	return n
}

// insertEdges writes edges in one statement: the unique index on (in, out,
// relation) turns a repeat into an update of its weight. Every endpoint
// must exist, as endpoints finds them.
func (s *Store) insertEdges(ctx context.Context, edges []Edge, endpoints func(context.Context, []string) error) error {
	seen := map[string]bool{}
	var ids []string
	rows := make([]map[string]any, len(edges))
	for i, e := range edges {
		for _, id := range []string{e.Source, e.Target} {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		m := e.Metadata
		if m == nil {
			m = map[string]any{}
		}
		rows[i] = map[string]any{"in": nodeID(e.Source), "out": nodeID(e.Target), "relation": e.Relation, "weight": e.Weight, "metadata": m}
	}
	if err := endpoints(ctx, ids); err != nil {
		return err
	}
	_, err := surreal.Query[any](ctx, s.db, `INSERT RELATION INTO links $rows ON DUPLICATE KEY UPDATE weight = $input.weight, metadata = $input.metadata RETURN NONE`,
		map[string]any{"rows": rows})
	if err != nil {
		return fmt.Errorf("write edges: %w", err)
	}
	return nil
}

// endpointsStored checks that the nodes exist by reading them (one query).
func (s *Store) endpointsStored(ctx context.Context, ids []string) error {
	recs := make([]models.RecordID, len(ids))
	for i, id := range ids {
		recs[i] = nodeID(id)
	}
	found, err := surreal.Query[[]string](ctx, s.db, "SELECT VALUE record::id(id) FROM $ids[*]", map[string]any{"ids": recs})
	if err != nil {
		return fmt.Errorf("check edge endpoints: %w", err)
	}
	have := map[string]bool{}
	for _, f := range found {
		have[f] = true
	}
	for _, id := range ids {
		if !have[id] {
			return &NotFoundError{What: fmt.Sprintf("node %q", id)}
		}
	}
	return nil
}

// endpointsIndexed checks that the nodes exist in the index, brought up to
// date first for ctx's arrival (Import sets it after its own nodes are
// written): it then holds every node committed before, and the feed's news
// cost an import's batch less than a read of its 2 000 endpoints' records.
func (s *Store) endpointsIndexed(ctx context.Context, ids []string) error {
	if err := s.index.Sync(ctx); err != nil {
		return fmt.Errorf("check edge endpoints: %w", err)
	}
	if id := s.index.Missing(ids); id != "" {
		return &NotFoundError{What: fmt.Sprintf("node %q", id)}
	}
	return nil
}

// Link relates two existing nodes; linking again updates the weight.
func (s *Store) Link(ctx context.Context, e Edge) (Edge, error) {
	if err := CheckEdge(&e); err != nil {
		return Edge{}, err
	}
	if e.Metadata == nil {
		e.Metadata = map[string]any{}
	}
	if err := s.insertEdges(ctx, []Edge{e}, s.endpointsStored); err != nil {
		return Edge{}, err
	}
	return e, nil
}

// Unlink removes the edges from source to target (of one relation, or all).
func (s *Store) Unlink(ctx context.Context, source, target, relation string) error {
	vars := map[string]any{"s": nodeID(source), "t": nodeID(target)}
	sql := "DELETE links WHERE in = $s AND out = $t"
	if relation != "" {
		r, err := Relation(relation)
		if err != nil {
			return err
		}
		vars["r"] = r
		sql += " AND relation = $r"
	}
	n, err := surreal.Query[[]any](ctx, s.db, sql+" RETURN BEFORE", vars)
	if err != nil {
		return fmt.Errorf("unlink: %w", err)
	}
	if len(n) == 0 {
		return &NotFoundError{What: fmt.Sprintf("edge %s → %s", source, target)}
	}
	return nil
}

const edgeFields = "record::id(in) AS source, record::id(out) AS target, relation, weight, metadata"

// Edges lists a node's edges: those leaving it (out), reaching it (in), or
// both; from the in-process adjacency, brought up to date first.
func (s *Store) Edges(ctx context.Context, id string, dir EdgeDirection) ([]Edge, error) {
	d, err := ParseDirection(string(dir))
	if err != nil {
		return nil, err
	}
	if err := s.syncFor(ctx, id); err != nil {
		return nil, err
	}
	return s.index.EdgesOf(id, d, visibleIn(ctx)), nil
}

// rrfK is the reciprocal-rank-fusion constant: hybrid score = Σ 1/(k + rank).
const rrfK = 60

// Search runs a full-text query (BM25 over title, weighted twice, tags and
// content, wanting every term, or any when no node has them all) and, when
// semantic, a nearest-neighbour query over the embeddings; with both,
// results are fused by reciprocal rank. Both run on the in-process index
// (package index), brought up to date first. Hits are the best ones, at
// most the filter's limit and no more than fit in MaxAnswerBytes (counting
// each node's content only when q.Full, as the API answers it).
func (s *Store) Search(ctx context.Context, q SearchQuery) ([]Hit, error) {
	q.Query = strings.TrimSpace(q.Query)
	if q.Query == "" {
		return nil, invalid("query (q): required: the words to look for")
	}
	limit := limitOf(q.Filter, 10)
	f := q.Filter
	f.Tag = strings.TrimPrefix(f.Tag, "#")
	if f.NodeType != "" {
		t, err := NodeType(f.NodeType)
		if err != nil {
			return nil, err
		}
		f.NodeType = t
	}
	if err := s.index.Sync(ctx); err != nil {
		return nil, err
	}
	terms := index.Analyze(q.Query)
	sf := index.Filter{NodeType: f.NodeType, Tag: f.Tag, GraphID: f.GraphID, Placeholders: q.Placeholders, Visible: visibleIn(ctx)}
	text := s.index.Text(terms, sf, limit)
	if !q.Semantic {
		return BoundHits(s.hits(text, terms, func(index.Ranked) string { return "text" }), q.Full, MaxAnswerBytes), nil
	}
	vecs, err := s.embed.Embed(ctx, []string{q.Query})
	if err != nil {
		return nil, err
	}
	// More neighbours than the limit, so that fusion has ranks to work with.
	near := s.index.Nearest(vecs[0], sf, max(limit*5, 50))
	fused := map[string]float64{}
	via := map[string]string{}
	for _, list := range []struct {
		name string
		rows []index.Ranked
	}{{"text", text}, {"semantic", near}} {
		for rank, r := range list.rows {
			fused[r.ID] += 1.0 / float64(rrfK+rank+1)
			if v, ok := via[r.ID]; ok && v != list.name {
				via[r.ID] = "hybrid"
			} else if !ok {
				via[r.ID] = list.name
			}
		}
	}
	best := index.NewTopK(limit)
	for id, score := range fused {
		best.Offer(id, score)
	}
	return BoundHits(s.hits(best.Sorted(), terms, func(r index.Ranked) string { return via[r.ID] }), q.Full, MaxAnswerBytes), nil
}

// hits are the index.Ranked nodes as the index holds them (brought up to
// date before the search: what SurrealDB held when the search arrived);
// terms are the query's analyzed words, to find the block that matched.
func (s *Store) hits(rows []index.Ranked, terms []string, via func(index.Ranked) string) []Hit {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	nodes := map[string]Node{}
	for _, n := range s.index.Nodes(ids) {
		nodes[n.ID] = n
	}
	out := make([]Hit, 0, len(rows))
	for _, r := range rows {
		if n, ok := nodes[r.ID]; ok {
			h := Hit{Node: n, Score: r.Score, Via: via(r), Block: matchingBlock(n, terms)}
			h.Snippet = snippet(n.Content, terms)
			if h.Block != nil {
				h.Snippet = snippet(h.Block.Content, terms)
			}
			out = append(out, h)
		}
	}
	return out
}

// MaxDepth bounds connected().
const MaxDepth = 6

// connected() answers at most this many nodes unless asked for more (limit),
// and never more than MaxConnectedLimit: a hub cannot return the whole graph
// by accident, and a truncated answer says so.
const (
	DefaultConnectedLimit = 200
	MaxConnectedLimit     = 5000
)

// maxPathHops bounds path().
const maxPathHops = 32

// Connected returns the nodes within depth hops of id, either direction,
// nearest first and at most limit of them (0: DefaultConnectedLimit), with
// the edges among them; Truncated says more were within reach. A
// breadth-first search over the in-process index (the adjacency and the
// nodes), brought up to date with the change feeds first. The answer stays
// within MaxAnswerBytes: past it, fewer nodes and Truncated.
func (s *Store) Connected(ctx context.Context, id string, depth, limit int) (Subgraph, error) {
	if depth < 1 || depth > MaxDepth {
		return Subgraph{}, invalid("depth %d: want 1–%d", depth, MaxDepth)
	}
	if limit == 0 {
		limit = DefaultConnectedLimit
	}
	if limit < 1 || limit > MaxConnectedLimit {
		return Subgraph{}, invalid("limit %d: want 1–%d", limit, MaxConnectedLimit)
	}
	if err := s.syncFor(ctx, id); err != nil {
		return Subgraph{}, err
	}
	return boundSubgraph(s.index.ConnectedTo(id, depth, limit, visibleIn(ctx))), nil
}

// Arrived is ctx for a request that arrived at t: the store's reads for it
// see every write committed before t, and share one catch-up of the index
// with SurrealDB (Access checks a node's graph, then traverses from it).
func Arrived(ctx context.Context, t time.Time) context.Context { return index.WithArrival(ctx, t) }

// NodeGraph is the graph of node id, from the index brought up to date.
func (s *Store) NodeGraph(ctx context.Context, id string) (string, error) {
	if err := s.syncFor(ctx, id); err != nil {
		return "", err
	}
	graph, ok := s.index.GraphOf(id)
	if !ok { // deleted since syncFor saw it
		return "", &NotFoundError{What: fmt.Sprintf("node %q", id)}
	}
	return graph, nil
}

// syncFor validates node ids, brings the index up to date and checks that
// it holds each of them.
func (s *Store) syncFor(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if !idPattern.MatchString(id) {
			return invalid("node id %q is malformed", id)
		}
	}
	if err := s.index.Sync(ctx); err != nil {
		return err
	}
	if id := s.index.Missing(ids); id != "" {
		return &NotFoundError{What: fmt.Sprintf("node %q", id)}
	}
	return nil
}

// decodeSubgraph reads the results of a node query and an edge query, in
// that order; what names the caller in an error.
func decodeSubgraph(res []any, what string) (Subgraph, error) {
	var g Subgraph
	for i, dst := range []any{&g.Nodes, &g.Edges} {
		raw, _ := json.Marshal(res[i])
		if err := json.Unmarshal(raw, dst); err != nil {
			return Subgraph{}, fmt.Errorf("decode %s: %w", what, err)
		}
	}
	g.Nodes = nonNilNodes(g.Nodes)
	if g.Edges == nil {
		g.Edges = []Edge{}
	}
	return g, nil
}

// Path finds a shortest path from one node to another along edges in either
// direction (at most 32 hops): its nodes in order and the edges between
// consecutive ones. A bidirectional breadth-first search over the
// in-process adjacency, like Connected.
func (s *Store) Path(ctx context.Context, from, to string) (Subgraph, error) {
	if err := s.syncFor(ctx, from, to); err != nil {
		return Subgraph{}, err
	}
	g, ok := s.index.PathBetween(from, to, maxPathHops, visibleIn(ctx))
	if !ok {
		return Subgraph{}, &NotFoundError{What: fmt.Sprintf("path from %q to %q", from, to)}
	}
	return boundSubgraph(g), nil
}

// Blocks is a node's outline: the blocks of a Logseq page (empty for a
// node whose content has no list).
func (s *Store) Blocks(ctx context.Context, id string) ([]Block, error) {
	n, err := s.GetNode(ctx, id)
	if err != nil {
		return nil, err
	}
	blocks := outlineOf(n)
	if blocks == nil {
		blocks = []Block{}
	}
	return blocks, nil
}

// matchingBlock is the block of a Logseq page holding most of the query's
// terms, its words analyzed as the index analyzes them (folded, stemmed:
// "naive" finds "naïve", and "is" is not found in "alias"), the first of
// equals; nil for other nodes or when no block holds any.
func matchingBlock(n Node, terms []string) *BlockHit {
	if src, _ := n.Metadata["source"].(string); src != "logseq" || len(terms) == 0 {
		return nil
	}
	blocks := outlineOf(n)
	words := index.UniqueWords(terms)
	var best *BlockHit
	most := 0
	logseq.Walk(blocks, func(b Block) {
		has := map[string]bool{}
		for _, w := range index.Analyze(b.Content) {
			has[w] = true
		}
		held := 0
		for _, t := range words {
			if has[t] {
				held++
			}
		}
		if held > most {
			most, best = held, &BlockHit{ID: b.ID, Content: b.Content, Line: b.Line}
		}
	})
	return best
}

// AddDecision records a decision (POST /decisions): see the function AddDecision.
func (s *Store) AddDecision(ctx context.Context, d DecisionRecord) (Node, error) {
	return AddDecision(ctx, s, d.GraphID, d.Title, d.ADR, d.Tags)
}

// Graphs lists the graphs with their node counts.
func (s *Store) Graphs(ctx context.Context) ([]GraphInfo, error) {
	list, err := surreal.Query[[]GraphInfo](ctx, s.db, `SELECT record::id(id) AS id, name, graph_type,
		count((SELECT id FROM nodes WHERE graph_id = $parent.name)) AS nodes FROM graphs ORDER BY id`, nil)
	if err != nil {
		return nil, fmt.Errorf("graphs: %w", err)
	}
	out := []GraphInfo{}
	for _, g := range list {
		if visible := visibleIn(ctx); visible == nil || visible(g.ID) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Guidelines is the effective set for a project: every shared guideline,
// except where the project has one that overrides it. Node ids are unique
// across graphs, so a project guideline overrides a shared one that it
// names (metadata "overrides": "<shared id>") or that has the same topic
// (metadata "topic").
func (s *Store) Guidelines(ctx context.Context, project string) ([]EffectiveGuideline, error) {
	if project == "" {
		project = "default"
	}
	shared, err := s.ListNodes(ctx, Filter{NodeType: "Guideline", GraphID: SharedGraph})
	if err != nil {
		return nil, err
	}
	own := []Node{}
	if project != SharedGraph {
		if own, err = s.ListNodes(ctx, Filter{NodeType: "Guideline", GraphID: project}); err != nil {
			return nil, err
		}
	}
	return Effective(shared, own), nil
}

// Effective merges shared and project guidelines.
func Effective(shared, project []Node) []EffectiveGuideline {
	topic := func(n Node) string {
		t, _ := n.Metadata["topic"].(string)
		return strings.ToLower(strings.TrimSpace(t))
	}
	var out []EffectiveGuideline
	overridden := map[string]string{}
	for _, p := range project {
		e := EffectiveGuideline{Node: p, Source: "project"}
		names, _ := p.Metadata["overrides"].(string)
		for _, sh := range shared {
			if sh.ID == names || (topic(p) != "" && topic(p) == topic(sh)) {
				e.Overrides = sh.ID
				overridden[sh.ID] = p.ID
			}
		}
		out = append(out, e)
	}
	for _, sh := range shared {
		if _, ok := overridden[sh.ID]; !ok {
			out = append(out, EffectiveGuideline{Node: sh, Source: "shared"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Node.Title < out[j].Node.Title })
	return out
}

// Export returns a graph's nodes and edges (every graph when graph is "").
func (s *Store) Export(ctx context.Context, graph string) (Subgraph, error) {
	vars := map[string]any{"g": graph}
	nodeWhere, edgeWhere := "", ""
	if graph != "" {
		nodeWhere, edgeWhere = " WHERE graph_id = $g", " WHERE in.graph_id = $g OR out.graph_id = $g"
	}
	res, err := surreal.QueryAll[any](ctx, s.db, "SELECT "+nodeFields+" FROM nodes"+nodeWhere+" ORDER BY id; SELECT "+edgeFields+" FROM links"+edgeWhere+";", vars)
	if err != nil {
		return Subgraph{}, fmt.Errorf("export: %w", err)
	}
	g, err := decodeSubgraph(res, "export")
	if visible := visibleIn(ctx); err == nil && visible != nil {
		return s.visibleSubgraph(ctx, g, visible)
	}
	return g, err
}

// visibleSubgraph is g without the nodes of graphs the caller may not read
// and the edges reaching them.
func (s *Store) visibleSubgraph(ctx context.Context, g Subgraph, visible func(string) bool) (Subgraph, error) {
	nodes := g.Nodes[:0]
	for _, n := range g.Nodes {
		if visible(n.GraphID) {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	if err := s.index.Sync(ctx); err != nil {
		return Subgraph{}, err
	}
	g.Edges = s.index.VisibleOnly(g.Edges, visible)
	return g, nil
}

// visibleGraphs lists the graphs the caller may read.
func (s *Store) visibleGraphs(ctx context.Context, visible func(string) bool) ([]string, error) {
	all, err := surreal.Query[[]string](ctx, s.db, "SELECT VALUE record::id(id) FROM graphs", nil)
	if err != nil {
		return nil, fmt.Errorf("graphs: %w", err)
	}
	out := []string{}
	for _, g := range all {
		if visible(g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// GraphsOf is the graph of each of these nodes that exists (from the index,
// brought up to date first).
func (s *Store) GraphsOf(ctx context.Context, ids []string) (map[string]string, error) {
	if err := s.index.Sync(ctx); err != nil {
		return nil, err
	}
	return s.index.GraphsOf(ids), nil
}

// importBatch is how many nodes one import statement writes.
const importBatch = 200

// importNodesSQL writes a batch of one graph's nodes: those whose id is a
// node of another graph are left alone and returned (a graph is a
// namespace: an import never moves a node out of its graph); the others are
// created, or updated in everything but their graph and created_at. A node
// imported again unchanged keeps its updated_at, so its record is not
// written again and the change feed brings the index no news of it (an
// import run again re-indexed every node). The check and the write are one
// transaction, so two instances importing at once cannot move a node either.
var importNodesSQL = surreal.Atomic(`LET $taken = (SELECT VALUE id FROM $ids WHERE graph_id != $graph);
INSERT INTO nodes $rows[WHERE id NOTINSIDE $taken AND id.{node_type, title, content, metadata, tags, embedding}
		!= {node_type: node_type, title: title, content: content, metadata: metadata, tags: tags, embedding: embedding}]
	ON DUPLICATE KEY UPDATE node_type = $input.node_type, title = $input.title, content = $input.content, metadata = $input.metadata,
	tags = $input.tags, embedding = $input.embedding, updated_at = time::now() RETURN NONE;
RETURN $taken.map(|$i| record::id($i));`)

// Import upserts nodes (by id) and edges, in batches. A node given twice is
// written once (the last one); a node that exists in another graph is not
// touched and is listed in Conflicts; created_at is kept from the input when
// it has one (an export imported again keeps its dates). A node given again
// unchanged is not written (nor re-indexed) but counts as stored: the
// counts are of what the graph holds from the input, not what was rewritten.
func (s *Store) Import(ctx context.Context, g Subgraph) (ImportResult, error) {
	ins, created, err := importInputs(g.Nodes)
	if err != nil {
		return ImportResult{}, err
	}
	graphs := map[string]bool{}
	for _, in := range ins {
		graphs[in.GraphID] = true
	}
	for i := range g.Edges {
		if err := CheckEdge(&g.Edges[i]); err != nil {
			return ImportResult{}, invalid("edge %d: %v", i, err)
		}
	}
	for graph := range graphs {
		if err := s.ensureGraph(ctx, graph); err != nil {
			return ImportResult{}, err
		}
	}
	// The index catches up once for the request (Access has done it when
	// the request came through it), so that each batch of a batched import
	// reads from the feed what the batch before it wrote.
	if index.ArrivalOf(ctx).IsZero() {
		ctx = Arrived(ctx, time.Now())
	}
	if err := s.index.Sync(ctx); err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Conflicts: []string{}}
	for start := 0; start < len(ins); start += importBatch {
		batch := ins[start:min(start+importBatch, len(ins))]
		written, conflicts, err := s.importNodes(ctx, batch, created[start:start+len(batch)])
		if err != nil {
			return res, err
		}
		res.Nodes += written
		res.Conflicts = append(res.Conflicts, conflicts...)
	}
	edges := withoutNodes(g.Edges, res.Conflicts)
	if len(ins) > 0 && len(edges) > 0 {
		// The endpoints may be among the nodes written just now: the index
		// catches up once more, for every batch of edges.
		ctx = Arrived(ctx, time.Now())
	}
	for start := 0; start < len(edges); start += importBatch * 5 {
		batch := edges[start:min(start+importBatch*5, len(edges))]
		if err := s.insertEdges(ctx, batch, s.endpointsIndexed); err != nil {
			return res, err
		}
		res.Edges += len(batch)
	}
	// The index catches up with what was written at its next read (the next
	// batch of a batched import): reading it here as well read each batch's
	// changes once more from the feed.
	return res, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// withoutNodes is edges less those that touch one of ids.
func withoutNodes(edges []Edge, ids []string) []Edge {
	if len(ids) == 0 {
		return edges
	}
	drop := map[string]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	out := make([]Edge, 0, len(edges))
	for _, e := range edges {
		if !drop[e.Source] && !drop[e.Target] {
			out = append(out, e)
		}
	}
	return out
}

// importInputs checks the nodes of an import, the last of each id kept,
// with the creation time each carries (zero: now).
func importInputs(nodes []Node) ([]NodeInput, []time.Time, error) {
	last := map[string]int{}
	for i, n := range nodes {
		if n.ID == "" {
			return nil, nil, invalid("node %d (%q): id required for import", i, n.Title)
		}
		last[n.ID] = i
	}
	ins := make([]NodeInput, 0, len(last))
	created := make([]time.Time, 0, len(last))
	for i, n := range nodes {
		if last[n.ID] != i {
			continue
		}
		in := NodeInput{ID: n.ID, NodeType: n.NodeType, Title: n.Title, Content: n.Content, Metadata: n.Metadata, Tags: n.Tags, GraphID: n.GraphID}
		if err := in.Check(); err != nil {
			return nil, nil, invalid("node %q: %v", n.ID, err)
		}
		ins = append(ins, in)
		created = append(created, n.CreatedAt)
	}
	return ins, created, nil
}

// importNodes writes one batch; it returns how many were written and the
// ids left alone because they belong to another graph.
func (s *Store) importNodes(ctx context.Context, batch []NodeInput, created []time.Time) (int, []string, error) {
	texts := make([]string, len(batch))
	for i, in := range batch {
		texts[i] = in.Title + "\n" + strings.Join(in.Tags, " ") + "\n" + in.Content
	}
	vecs, err := s.embed.Embed(ctx, texts)
	if err != nil {
		return 0, nil, err
	}
	rows := make([]map[string]any, len(batch))
	graphs := map[string]bool{}
	for i, in := range batch {
		now := s.now()
		at := now
		if !created[i].IsZero() {
			at = created[i].UTC()
		}
		rows[i] = map[string]any{"id": nodeID(in.ID), "node_type": in.NodeType, "title": in.Title, "content": in.Content,
			"metadata": in.Metadata, "tags": in.Tags, "graph_id": in.GraphID, "embedding": index.VectorBytes(vecs[i]), "created_at": models.CustomDateTime{Time: at}, "updated_at": models.CustomDateTime{Time: now}}
		graphs[in.GraphID] = true
	}
	var conflicts []string
	for _, graph := range sortedKeys(graphs) {
		var ids []models.RecordID
		var of []map[string]any
		for i, in := range batch {
			if in.GraphID == graph {
				ids, of = append(ids, nodeID(in.ID)), append(of, rows[i])
			}
		}
		taken, err := surreal.Query[[]string](ctx, s.db, importNodesSQL, map[string]any{"rows": of, "ids": ids, "graph": graph})
		if err != nil {
			return 0, nil, fmt.Errorf("import nodes: %w", err)
		}
		conflicts = append(conflicts, taken...)
	}
	return len(batch) - len(conflicts), conflicts, nil
}
