package apifn

import (
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
func GraphScope(graph string) string {
	scope, _, _ := strings.Cut(graph, ".")
	return scope
}

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

// readable checks, in order, that each node exists in a graph the caller
// may read (else a 404, as for a node that does not exist), from Kogral's
// index brought up to date once for the request, which the traversal that
// follows reads too: one round trip to SurrealDB in all.
func (a *Access) readable(ctx context.Context, ids ...string) error {
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

// Import writes only graphs the caller writes: the graphs it names, the
// graphs of the nodes it would overwrite (ids are unique across graphs), and
// those of the nodes its edges leave; its edges reach only nodes it reads.
func (a *Access) Import(ctx context.Context, g kogral.Subgraph) (kogral.ImportResult, error) {
	// One catch-up of the index for the request: the graphs of the nodes it
	// names, and the endpoints of its edges when it writes no nodes itself.
	ctx = kogral.Arrived(ctx, time.Now())
	// Cedar decides each action on each graph once for the import (an
	// import of 1 000 nodes and 5 000 edges asked it the same 11 000 times).
	decided := map[[2]string]error{}
	need := func(ctx context.Context, action, graph string) error {
		key := [2]string{action, graph}
		err, ok := decided[key]
		if !ok {
			err = a.need(ctx, action, graph)
			decided[key] = err
		}
		return err
	}
	graphOf := map[string]string{}
	for _, n := range g.Nodes {
		graph := n.GraphID
		if graph == "" {
			graph = "default"
		}
		graphOf[n.ID] = graph
		if err := need(ctx, "write", graph); err != nil {
			return kogral.ImportResult{}, err
		}
	}
	var ids []string
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	for _, e := range g.Edges {
		ids = append(ids, e.Source, e.Target)
	}
	stored, err := a.store.GraphsOf(ctx, ids)
	if err != nil {
		return kogral.ImportResult{}, err
	}
	for id, graph := range stored {
		if _, imported := graphOf[id]; imported && need(ctx, "write", graph) != nil {
			return kogral.ImportResult{}, &ForbiddenError{Msg: fmt.Sprintf("node %q exists in a graph you cannot write", id)}
		}
	}
	for _, e := range g.Edges {
		if graph, ok := graphOf[e.Source]; ok || stored[e.Source] != "" {
			if !ok {
				graph = stored[e.Source]
			}
			if err := need(ctx, "write", graph); err != nil {
				return kogral.ImportResult{}, err
			}
		}
		if graph, ok := graphOf[e.Target]; ok || stored[e.Target] != "" {
			if !ok {
				graph = stored[e.Target]
			}
			if need(ctx, "read", graph) != nil {
				return kogral.ImportResult{}, &kogral.NotFoundError{What: fmt.Sprintf("node %q", e.Target)}
			}
		}
	}
	return a.store.Import(ctx, g)
}
