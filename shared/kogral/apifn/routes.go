package apifn

import (
	"net/http"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// API is what kogral-api and kogral-mcp serve: a graph backend behind the
// platform's authentication.
type API struct {
	backend kogral.Backend
	auth    *principal.Authenticator
	mcp     http.Handler
	exports *exports // nil: no export jobs (kogral-mcp, tests)
}

// op binds a backend handler, mapping Kogral's typed errors to answers.
func op(h handler) func(*API, http.ResponseWriter, *http.Request) error {
	return func(a *API, w http.ResponseWriter, r *http.Request) error { return apiError(h(a.backend, w, r)) }
}

func authMiddleware(a *API) func(http.Handler) http.Handler { return a.auth.Middleware }

var (
	filterParams = []httpapi.Param{{Name: "type", Description: "node type"}, {Name: "tag"}, {Name: "graph"},
		{Name: "limit", Type: "integer", Description: "1–1000"}}
	searchParams = append([]httpapi.Param{{Name: "q", Description: "the text searched"},
		{Name: "semantic", Type: "boolean", Description: "semantic (embedding) search instead of text"},
		{Name: "placeholders", Type: "boolean", Description: "include pages that exist only as link targets"},
		{Name: "full", Type: "boolean", Description: "each hit with its node's content (default: the snippet only)"}}, filterParams...)
)

// APISpec is kogral-api's HTTP surface. It also serves Kogral's OpenAPI
// document. A function, not a variable, so that kogral-mcp, which links
// this package for MCPSpec, does not link kogral-api's handlers.
func APISpec() httpapi.Spec[*API] {
	return httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
		httpapi.DocumentOp[*API](schemas.OpenAPIDocument("kogral")),
		{Method: "POST", Path: "/nodes", Summary: "Create a node", In: kogral.NodeInput{}, Out: kogral.Node{}, Status: http.StatusCreated, Handle: op(createNode)},
		{Method: "GET", Path: "/nodes", Summary: "List nodes", Query: filterParams, Out: nodeList{}, Handle: op(listNodes)},
		{Method: "GET", Path: "/nodes/{id}", Summary: "Read a node", Out: kogral.Node{}, Handle: op(getNode)},
		{Method: "PUT", Path: "/nodes/{id}", Summary: "Update a node", In: kogral.NodeInput{}, Out: kogral.Node{}, Handle: op(updateNode)},
		{Method: "DELETE", Path: "/nodes/{id}", Summary: "Delete a node and its edges", Status: http.StatusNoContent, Handle: op(deleteNode)},
		{Method: "GET", Path: "/nodes/{id}/edges", Summary: "A node's edges", Out: edgeList{},
			Query: []httpapi.Param{{Name: "direction", Description: "out, in or both (default out)"}}, Handle: op(nodeEdges)},
		{Method: "GET", Path: "/nodes/{id}/blocks", Summary: "A page's outline blocks", Out: blockList{}, Handle: op(nodeBlocks)},
		{Method: "GET", Path: "/nodes/{id}/connected", Summary: "The subgraph within depth edges of a node", Out: connectedAnswer{},
			Query: []httpapi.Param{{Name: "depth", Type: "integer"}, {Name: "limit", Type: "integer"}}, Handle: op(connected)},
		{Method: "POST", Path: "/decisions", Summary: "Record an architecture decision (ADR)", In: kogral.DecisionRecord{}, Out: kogral.Node{},
			Status: http.StatusCreated, Handle: op(addDecision)},
		{Method: "POST", Path: "/edges", Summary: "Link two nodes", In: kogral.Edge{}, Out: kogral.Edge{}, Status: http.StatusCreated, Handle: op(link)},
		{Method: "DELETE", Path: "/edges", Summary: "Unlink two nodes", Status: http.StatusNoContent,
			Query: []httpapi.Param{{Name: "source", Required: true}, {Name: "target", Required: true},
				{Name: "relation", Description: "only edges of this relation"}}, Handle: op(unlink)},
		{Method: "GET", Path: "/graphs", Summary: "List graphs", Out: graphList{}, Handle: op(listGraphs)},
		{Method: "GET", Path: "/graphs/{id}/guidelines", Summary: "A graph's effective guidelines (shared ones overridden by the graph's)",
			Out: guidelineList{}, Handle: op(guidelines)},
		{Method: "GET", Path: "/search", Summary: "Text or semantic search", Query: searchParams, Out: hitList{}, Handle: op(search)},
		{Method: "GET", Path: "/path", Summary: "The shortest path between two nodes", Out: kogral.Subgraph{},
			Query: []httpapi.Param{{Name: "from", Required: true}, {Name: "to", Required: true}}, Handle: op(path)},
		{Method: "GET", Path: "/export", Summary: "Export a small graph at once as JSON, DOT, markdown or Logseq files (422 when it is too large: use POST /exports)",
			Out: kogral.Subgraph{}, Query: []httpapi.Param{{Name: "graph"}, {Name: "format", Description: "json (default), dot, markdown or logseq"}},
			Handle: smallExport},
		{Method: "POST", Path: "/exports", Summary: "Queue an export job (202; follow Location for its progress)", In: ExportRequest{}, Out: ExportJob{},
			Status: http.StatusAccepted, Handle: startExport},
		{Method: "GET", Path: "/exports/{job}", Summary: "An export job: status, progress (done of total nodes and edges), error, and its result's parts", Out: ExportJob{},
			Handle: getExport},
		{Method: "GET", Path: "/exports/{job}/result", Summary: "One part of a succeeded export job's result, as rendered (the parts, concatenated, are the result)",
			Query: []httpapi.Param{{Name: "part", Type: "integer", Description: "0 (the default) to parts-1"}}, Handle: exportResult},
		{Method: "POST", Path: "/import", Summary: "Import a subgraph", In: kogral.Subgraph{}, Out: kogral.ImportResult{}, Handle: op(importGraph)},
	}}
}

// MCPSpec is kogral-mcp's: the MCP streamable HTTP transport, which routes itself.
var MCPSpec = httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
	{Method: "ANY", Path: "/mcp", Summary: "Model Context Protocol (streamable HTTP)", Mount: func(a *API) http.Handler { return a.mcp }},
}}

type (
	nodeList struct {
		Nodes []kogral.Node `json:"nodes"`
	}
	edgeList struct {
		Edges     []kogral.Edge        `json:"edges"`
		Direction kogral.EdgeDirection `json:"direction"`
	}
	blockList struct {
		Blocks []kogral.Block `json:"blocks"`
	}
	graphList struct {
		Graphs []kogral.GraphInfo `json:"graphs"`
	}
	guidelineList struct {
		Guidelines []kogral.EffectiveGuideline `json:"guidelines"`
	}
	hitList struct {
		Hits []kogral.Hit `json:"hits"`
	}
	fileSet struct {
		Files map[string]string `json:"files"`
	}
)
