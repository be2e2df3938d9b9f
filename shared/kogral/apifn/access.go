package apifn

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// AdminScope writes the shared graph, and reads and writes every graph
// (schemas/cedar/kogral).
const AdminScope = "kogral-admin"

// GraphScope is the scope a graph belongs to: its id up to the first '.'
// ("acme" and "acme.web" are the acme scope's).
func GraphScope(graph string) string { return kogral.GraphScope(graph) }

// ForbiddenError is a request for something the caller may see but not do (HTTP 403).
type ForbiddenError struct{ Msg string }

func (e *ForbiddenError) Error() string { return e.Msg }

// Access is the Backend the API and the MCP server serve: the Store, with
// every operation authorized by Cedar for the request's caller
// (principal.From). A graph the caller may not read does not exist for it:
// its nodes are a 404, and searches, listings, traversals and exports leave
// them out; writing a readable graph it may not write is a 403.
type Access struct {
	store  *kogral.Store
	engine *authz.Engine
}

// NewAccess authorizes s's operations with engine (schemas/cedar/kogral).
func NewAccess(s *kogral.Store, engine *authz.Engine) *Access {
	return &Access{store: s, engine: engine}
}

func graphEntity(graph string) cedar.Entity {
	return authz.Entity(cedar.NewEntityUID("Graph", cedar.String(graph)), cedar.RecordMap{"scope": cedar.String(GraphScope(graph))})
}

// need checks one action on one graph; read denied is a 404 (as a graph
// that does not exist), write denied a 403.
func (a *Access) need(ctx context.Context, action, graph string) error {
	if graph == "" {
		graph = "default"
	}
	if a.engine.Allows(ctx, action, graphEntity(graph)) {
		return nil
	}
	if action == "read" {
		return &kogral.NotFoundError{What: fmt.Sprintf("graph %q", graph)}
	}
	return &ForbiddenError{Msg: fmt.Sprintf("you cannot write graph %q (scope %q)", graph, GraphScope(graph))}
}

// reader is ctx carrying what the caller may read, which the Store applies
// to everything it answers (visibleIn). Decisions are kept for the request
// and not logged one by one.
func (a *Access) reader(ctx context.Context) context.Context {
	quiet := obs.WithLogger(ctx, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	seen := map[string]bool{}
	return kogral.WithVisible(ctx, func(graph string) bool {
		mu.Lock()
		defer mu.Unlock()
		ok, done := seen[graph]
		if !done {
			ok = a.engine.Allows(quiet, "read", graphEntity(graph))
			seen[graph] = ok
		}
		return ok
	})
}

// scoped checks action on the scope a node id lies in (kogral.IDScope),
// before anything is looked up, so that the answer for an id of a scope the
// caller may not read (404) or write (403) is the same whether it exists or
// not. The scope is asked as the graph named after it ("acme", "shared"):
// a node's graph is in its id's scope, and the policies decide a graph by
// its scope, the shared graph by its name. An id without a '.' was made
// before ids lay in their scope: its stored graph decides, as before.
func (a *Access) scoped(ctx context.Context, id, action string) error {
	if !kogral.ValidID(id) {
		return &kogral.InputError{Msg: fmt.Sprintf("node id %q is malformed", id)}
	}
	if !strings.Contains(id, ".") {
		return nil // made before ids lay in their scope (a bare slug; none is made now): its stored graph decides
	}
	scope := kogral.IDScope(id)
	if a.need(ctx, "read", scope) != nil {
		return &kogral.NotFoundError{What: fmt.Sprintf("node %q", id)}
	}
	if action == "write" {
		if err := a.need(ctx, "write", scope); err != nil {
			return &ForbiddenError{Msg: fmt.Sprintf("you cannot write node %q (scope %q)", id, scope)}
		}
	}
	return nil
}

// readable checks, in order, that each node exists in a graph the caller
// may read (else a 404, as for a node that does not exist), from Kogral's
// index brought up to date once for the request, which the traversal that
// follows reads too: one round trip to SurrealDB in all.
func (a *Access) readable(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if err := a.scoped(ctx, id, "read"); err != nil {
			return err
		}
	}
	for _, id := range ids {
		graph, err := a.store.NodeGraph(ctx, id)
		if err != nil {
			return err
		}
		if a.need(ctx, "read", graph) != nil {
			return &kogral.NotFoundError{What: fmt.Sprintf("node %q", id)}
		}
	}
	return nil
}

// node reads a node the caller may read, then checks action on its graph.
func (a *Access) node(ctx context.Context, id, action string) (kogral.Node, error) {
	if err := a.scoped(ctx, id, action); err != nil {
		return kogral.Node{}, err
	}
	n, err := a.store.GetNode(ctx, id)
	if err != nil {
		return kogral.Node{}, err
	}
	if a.need(ctx, "read", n.GraphID) != nil {
		return kogral.Node{}, &kogral.NotFoundError{What: fmt.Sprintf("node %q", id)}
	}
	if action == "write" {
		return n, a.need(ctx, "write", n.GraphID)
	}
	return n, nil
}

// CreateNode checks the input first, so that bad input is a 400 whoever asks.
func (a *Access) CreateNode(ctx context.Context, in kogral.NodeInput) (kogral.Node, error) {
	if err := in.Check(); err != nil {
		return kogral.Node{}, err
	}
	if err := a.need(ctx, "write", in.GraphID); err != nil {
		return kogral.Node{}, err
	}
	return a.store.CreateNode(ctx, in)
}

// UpdateNode keeps the node in its graph (the store never moves it).
func (a *Access) UpdateNode(ctx context.Context, id string, in kogral.NodeInput) (kogral.Node, error) {
	if _, err := a.node(ctx, id, "write"); err != nil {
		return kogral.Node{}, err
	}
	return a.store.UpdateNode(ctx, id, in)
}

func (a *Access) GetNode(ctx context.Context, id string) (kogral.Node, error) {
	return a.node(ctx, id, "read")
}

func (a *Access) DeleteNode(ctx context.Context, id string) error {
	if _, err := a.node(ctx, id, "write"); err != nil {
		return err
	}
	return a.store.DeleteNode(ctx, id)
}

func (a *Access) ListNodes(ctx context.Context, f kogral.Filter) ([]kogral.Node, error) {
	if f.GraphID != "" {
		if err := a.need(ctx, "read", f.GraphID); err != nil {
			return nil, err
		}
	}
	return a.store.ListNodes(a.reader(ctx), f)
}

// Link writes an edge leaving a node of a graph the caller writes, to a
// node it may read.
func (a *Access) Link(ctx context.Context, e kogral.Edge) (kogral.Edge, error) {
	if err := kogral.CheckEdge(&e); err != nil {
		return kogral.Edge{}, err
	}
	if _, err := a.node(ctx, e.Source, "write"); err != nil {
		return kogral.Edge{}, err
	}
	if _, err := a.node(ctx, e.Target, "read"); err != nil {
		return kogral.Edge{}, err
	}
	return a.store.Link(ctx, e)
}

func (a *Access) Unlink(ctx context.Context, source, target, relation string) error {
	if _, err := a.node(ctx, source, "write"); err != nil {
		return err
	}
	return a.store.Unlink(ctx, source, target, relation)
}

func (a *Access) Edges(ctx context.Context, id string, dir kogral.EdgeDirection) ([]kogral.Edge, error) {
	ctx = kogral.Arrived(ctx, time.Now())
	if err := a.readable(ctx, id); err != nil {
		return nil, err
	}
	return a.store.Edges(a.reader(ctx), id, dir)
}

func (a *Access) Search(ctx context.Context, q kogral.SearchQuery) ([]kogral.Hit, error) {
	if q.GraphID != "" {
		if err := a.need(ctx, "read", q.GraphID); err != nil {
			return nil, err
		}
	}
	return a.store.Search(a.reader(ctx), q)
}

func (a *Access) Connected(ctx context.Context, id string, depth, limit int) (kogral.Subgraph, error) {
	ctx = kogral.Arrived(ctx, time.Now())
	if err := a.readable(ctx, id); err != nil {
		return kogral.Subgraph{}, err
	}
	return a.store.Connected(a.reader(ctx), id, depth, limit)
}

func (a *Access) Path(ctx context.Context, from, to string) (kogral.Subgraph, error) {
	ctx = kogral.Arrived(ctx, time.Now())
	if err := a.readable(ctx, from, to); err != nil {
		return kogral.Subgraph{}, err
	}
	return a.store.Path(a.reader(ctx), from, to)
}

func (a *Access) Graphs(ctx context.Context) ([]kogral.GraphInfo, error) {
	return a.store.Graphs(a.reader(ctx))
}

// Guidelines are a project's own and the shared ones it reads.
func (a *Access) Guidelines(ctx context.Context, project string) ([]kogral.EffectiveGuideline, error) {
	if err := a.need(ctx, "read", project); err != nil {
		return nil, err
	}
	return a.store.Guidelines(a.reader(ctx), project)
}

func (a *Access) Export(ctx context.Context, graph string) (kogral.Subgraph, error) {
	if graph != "" {
		if err := a.need(ctx, "read", graph); err != nil {
			return kogral.Subgraph{}, err
		}
	}
	return a.store.Export(a.reader(ctx), graph)
}

func (a *Access) Blocks(ctx context.Context, id string) ([]kogral.Block, error) {
	if _, err := a.node(ctx, id, "read"); err != nil {
		return nil, err
	}
	return a.store.Blocks(ctx, id)
}

// AddDecision checks and links through Access, so that a decision may only
// supersede or relate to decisions the caller reads.
func (a *Access) AddDecision(ctx context.Context, d kogral.DecisionRecord) (kogral.Node, error) {
	return kogral.AddDecision(ctx, a, d.GraphID, d.Title, d.ADR, d.Tags)
}

// Import writes only graphs the caller writes: each node names its graph
// and its id lies in that graph's scope (a 400 otherwise), and an edge
// leaves a node of a scope the caller writes (403) for one of a scope it
// reads (404), both decided before anything is looked up. A node whose id
// is taken in another graph of the scope is left alone and reported as a
// conflict (the store checks it in its statement), and so are its edges.
func (a *Access) Import(ctx context.Context, g kogral.Subgraph) (kogral.ImportResult, error) {
	// One catch-up of the index for the request: the endpoints of its edges.
	ctx = kogral.Arrived(ctx, time.Now())
	// Cedar decides each action on each graph once for the import (an
	// import of 1 000 nodes and 5 000 edges asked it the same 11 000 times).
	decided := map[[2]string]error{}
	need := func(action, graph string) error {
		key := [2]string{action, graph}
		err, ok := decided[key]
		if !ok {
			err = a.need(ctx, action, graph)
			decided[key] = err
		}
		return err
	}
	imported := map[string]bool{}
	for _, n := range g.Nodes {
		graph := cmp.Or(n.GraphID, "default")
		if n.ID != "" {
			if err := kogral.CheckIDInGraph(n.ID, graph); err != nil {
				return kogral.ImportResult{}, err
			}
		}
		if err := need("write", graph); err != nil {
			return kogral.ImportResult{}, err
		}
		imported[n.ID] = true
	}
	if err := a.importEdges(ctx, g.Edges, imported, need); err != nil {
		return kogral.ImportResult{}, err
	}
	return a.store.Import(ctx, g)
}

// importEdges checks an import's edges: each source's scope written and
// each target's read, then, of the endpoints stored and not imported, each
// source's graph written and each target's read.
func (a *Access) importEdges(ctx context.Context, edges []kogral.Edge, imported map[string]bool, need func(action, graph string) error) error {
	var stored []string
	for i, e := range edges {
		if !kogral.ValidID(e.Source) || !kogral.ValidID(e.Target) {
			return &kogral.InputError{Msg: fmt.Sprintf("edge %d: source and target must be node ids", i)}
		}
		if need("read", kogral.IDScope(e.Target)) != nil {
			return &kogral.NotFoundError{What: fmt.Sprintf("node %q", e.Target)}
		}
		scope := kogral.IDScope(e.Source)
		if need("read", scope) != nil {
			return &kogral.NotFoundError{What: fmt.Sprintf("node %q", e.Source)}
		}
		if need("write", scope) != nil {
			return &ForbiddenError{Msg: fmt.Sprintf("you cannot write node %q (scope %q)", e.Source, scope)}
		}
		for _, id := range []string{e.Source, e.Target} {
			if !imported[id] {
				stored = append(stored, id)
			}
		}
	}
	if len(stored) == 0 {
		return nil
	}
	graphs, err := a.store.GraphsOf(ctx, stored)
	if err != nil {
		return err
	}
	for _, e := range edges {
		if graph := graphs[e.Target]; graph != "" && need("read", graph) != nil {
			return &kogral.NotFoundError{What: fmt.Sprintf("node %q", e.Target)}
		}
		if graph := graphs[e.Source]; graph != "" && need("write", graph) != nil {
			return &ForbiddenError{Msg: fmt.Sprintf("you cannot write node %q (graph %q)", e.Source, graph)}
		}
	}
	return nil
}
