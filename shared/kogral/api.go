package kogral

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// apiError maps Kogral's errors to HTTP answers.
func apiError(err error) error {
	var in *InputError
	var nf *NotFoundError
	var cf *ConflictError
	var pe *ParseError
	var fb *ForbiddenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &in):
		return httpapi.BadRequest("%s", in.Msg)
	case errors.As(err, &pe):
		return httpapi.BadRequest("%s", pe.Error())
	case errors.As(err, &nf):
		return httpapi.NotFound("%s", nf.Error())
	case errors.As(err, &fb):
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "%s", fb.Msg)
	case errors.As(err, &cf):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", cf.Msg)
	}
	return err
}

// handler is one route's work: it writes the answer or returns an error.
type handler func(b Backend, w http.ResponseWriter, r *http.Request) error

// NewAPI serves kogral-api over b.
func NewAPI(b Backend) http.Handler {
	var o httpapi.Options
	mux := http.NewServeMux()
	for pattern, f := range apiRoutes {
		mux.Handle(pattern, o.Handle(func(w http.ResponseWriter, r *http.Request) error { return apiError(f(b, w, r)) }))
	}
	return mux
}

// apiRoutes are kogral-api's routes (the catalog lists the same).
var apiRoutes = map[string]handler{
	"POST /nodes":                 createNode,
	"GET /nodes":                  listNodes,
	"GET /nodes/{id}":             getNode,
	"PUT /nodes/{id}":             updateNode,
	"DELETE /nodes/{id}":          deleteNode,
	"GET /nodes/{id}/edges":       nodeEdges,
	"GET /nodes/{id}/blocks":      nodeBlocks,
	"GET /nodes/{id}/connected":   connected,
	"POST /decisions":             addDecision,
	"POST /edges":                 link,
	"DELETE /edges":               unlink,
	"GET /graphs":                 listGraphs,
	"GET /graphs/{id}/guidelines": guidelines,
	"GET /search":                 search,
	"GET /path":                   path,
	"GET /export":                 export,
	"POST /import":                importGraph,
}

func createNode(b Backend, w http.ResponseWriter, r *http.Request) error {
	var in NodeInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	n, err := b.CreateNode(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/nodes/"+n.ID)
	httpapi.WriteJSON(w, http.StatusCreated, n)
	return nil
}

func listNodes(b Backend, w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r)
	if err != nil {
		return err
	}
	list, err := b.ListNodes(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"nodes": list})
	return nil
}

func getNode(b Backend, w http.ResponseWriter, r *http.Request) error {
	n, err := b.GetNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, n)
	return nil
}

func updateNode(b Backend, w http.ResponseWriter, r *http.Request) error {
	var in NodeInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	n, err := b.UpdateNode(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, n)
	return nil
}

func deleteNode(b Backend, w http.ResponseWriter, r *http.Request) error {
	if err := b.DeleteNode(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func nodeEdges(b Backend, w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "direction"); err != nil {
		return err
	}
	dir, err := ParseDirection(r.URL.Query().Get("direction"))
	if err != nil {
		return err
	}
	list, err := b.Edges(r.Context(), r.PathValue("id"), dir)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"edges": list, "direction": dir})
	return nil
}

func nodeBlocks(b Backend, w http.ResponseWriter, r *http.Request) error {
	list, err := b.Blocks(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"blocks": list})
	return nil
}

func connected(b Backend, w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r, "depth", "limit"); err != nil {
		return err
	}
	depth, err := httpapi.QueryInt(r, "depth", 1, 1, MaxDepth)
	if err != nil {
		return err
	}
	limit, err := httpapi.QueryInt(r, "limit", DefaultConnectedLimit, 1, MaxConnectedLimit)
	if err != nil {
		return err
	}
	g, err := b.Connected(r.Context(), r.PathValue("id"), depth, limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, connectedAnswer{Subgraph: g, Truncated: g.Truncated})
	return nil
}

// connectedAnswer always carries truncated, true or false.
type connectedAnswer struct {
	Subgraph
	Truncated bool `json:"truncated"`
}

func addDecision(b Backend, w http.ResponseWriter, r *http.Request) error {
	var d DecisionRecord
	if err := httpapi.DecodeJSON(r, &d); err != nil {
		return err
	}
	n, err := b.AddDecision(r.Context(), d)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/nodes/"+n.ID)
	httpapi.WriteJSON(w, http.StatusCreated, n)
	return nil
}

func link(b Backend, w http.ResponseWriter, r *http.Request) error {
	var e Edge
	if err := httpapi.DecodeJSON(r, &e); err != nil {
		return err
	}
	out, err := b.Link(r.Context(), e)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func unlink(b Backend, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("source") == "" || q.Get("target") == "" {
		return httpapi.BadRequest("source and target are required")
	}
	if err := b.Unlink(r.Context(), q.Get("source"), q.Get("target"), q.Get("relation")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func listGraphs(b Backend, w http.ResponseWriter, r *http.Request) error {
	list, err := b.Graphs(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"graphs": list})
	return nil
}

func guidelines(b Backend, w http.ResponseWriter, r *http.Request) error {
	list, err := b.Guidelines(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []EffectiveGuideline{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"guidelines": list})
	return nil
}

func search(b Backend, w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r)
	if err != nil {
		return err
	}
	semantic, err := boolParam(r, "semantic")
	if err != nil {
		return err
	}
	hits, err := b.Search(r.Context(), SearchQuery{Query: r.URL.Query().Get("q"), Semantic: semantic, Filter: f})
	if err != nil {
		return err
	}
	if hits == nil {
		hits = []Hit{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"hits": hits})
	return nil
}

func path(b Backend, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		return httpapi.BadRequest("from and to are required")
	}
	g, err := b.Path(r.Context(), q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, g)
	return nil
}

func export(b Backend, w http.ResponseWriter, r *http.Request) error {
	g, err := b.Export(r.Context(), r.URL.Query().Get("graph"))
	if err != nil {
		return err
	}
	files := func(m map[string][]byte) map[string]any {
		out := map[string]string{}
		for k, v := range m {
			out[k] = string(v)
		}
		return map[string]any{"files": out}
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		httpapi.WriteJSON(w, http.StatusOK, g)
	case "dot":
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		_, _ = w.Write([]byte(DOT(g)))
	case "markdown":
		httpapi.WriteJSON(w, http.StatusOK, files(MarkdownFiles(g)))
	case "logseq":
		httpapi.WriteJSON(w, http.StatusOK, files(ExportLogseq(g)))
	default:
		return httpapi.BadRequest("format %q: want json, dot, markdown or logseq", f)
	}
	return nil
}

func importGraph(b Backend, w http.ResponseWriter, r *http.Request) error {
	var g Subgraph
	if err := httpapi.DecodeJSON(r, &g); err != nil {
		return err
	}
	res, err := b.Import(r.Context(), g)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// onlyParams refuses a query parameter a route does not know.
func onlyParams(r *http.Request, known ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(known, k) {
			return httpapi.BadRequest("unknown query parameter %q: want %s", k, strings.Join(known, ", "))
		}
	}
	return nil
}

func filterFrom(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	known := map[string]bool{"type": true, "tag": true, "graph": true, "limit": true, "q": true, "semantic": true}
	for k := range q {
		if !known[k] {
			return Filter{}, httpapi.BadRequest("unknown query parameter %q", k)
		}
	}
	limit, err := httpapi.QueryInt(r, "limit", 0, 1, 1000)
	if err != nil {
		return Filter{}, err
	}
	f := Filter{NodeType: q.Get("type"), Tag: q.Get("tag"), GraphID: q.Get("graph"), Limit: limit}
	if f.NodeType != "" {
		if f.NodeType, err = NodeType(f.NodeType); err != nil {
			return Filter{}, err
		}
	}
	return f, nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, httpapi.BadRequest("%s=%q: want true or false", name, v)
	}
	return b, nil
}
