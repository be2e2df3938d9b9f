package apifn

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// apiError maps Kogral's errors to HTTP answers.
func apiError(err error) error {
	var in *kogral.InputError
	var nf *kogral.NotFoundError
	var cf *kogral.ConflictError
	var fb *ForbiddenError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &in):
		return httpapi.BadRequest("%s", in.Msg)
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
type handler func(b kogral.Backend, w http.ResponseWriter, r *http.Request) error

func createNode(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	var in kogral.NodeInput
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

func listNodes(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r)
	if err != nil {
		return err
	}
	list, err := b.ListNodes(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, nodeList{Nodes: kogral.Within(list, kogral.MaxAnswerBytes)})
	return nil
}

func getNode(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	n, err := b.GetNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, n)
	return nil
}

func updateNode(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	var in kogral.NodeInput
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

func deleteNode(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	if err := b.DeleteNode(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func nodeEdges(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	dir, err := kogral.ParseDirection(r.URL.Query().Get("direction"))
	if err != nil {
		return err
	}
	list, err := b.Edges(r.Context(), r.PathValue("id"), dir)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, edgeList{Edges: kogral.Within(list, kogral.MaxAnswerBytes), Direction: dir})
	return nil
}

func nodeBlocks(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	list, err := b.Blocks(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, blockList{Blocks: list})
	return nil
}

func connected(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	depth, err := httpapi.QueryInt(r, "depth", 1, 1, kogral.MaxDepth)
	if err != nil {
		return err
	}
	limit, err := httpapi.QueryInt(r, "limit", kogral.DefaultConnectedLimit, 1, kogral.MaxConnectedLimit)
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
	kogral.Subgraph
	Truncated bool `json:"truncated"`
}

func addDecision(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	var d kogral.DecisionRecord
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

func link(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	var e kogral.Edge
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

func unlink(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
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

func listGraphs(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	list, err := b.Graphs(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, graphList{Graphs: list})
	return nil
}

func guidelines(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	list, err := b.Guidelines(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []kogral.EffectiveGuideline{}
	}
	httpapi.WriteJSON(w, http.StatusOK, guidelineList{Guidelines: kogral.Within(list, kogral.MaxAnswerBytes)})
	return nil
}

func search(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r)
	if err != nil {
		return err
	}
	var flags [3]bool
	for i, name := range []string{"semantic", "placeholders", "full"} {
		if flags[i], err = boolParam(r, name); err != nil {
			return err
		}
	}
	hits, err := b.Search(r.Context(), kogral.SearchQuery{Query: r.URL.Query().Get("q"), Semantic: flags[0], Placeholders: flags[1], Full: flags[2], Filter: f})
	if err != nil {
		return err
	}
	if hits == nil {
		hits = []kogral.Hit{}
	}
	if !flags[2] { // the snippet stands for the content unless full=true
		for i := range hits {
			hits[i].Node.Content = ""
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, hitList{Hits: hits})
	return nil
}

func path(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
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

func export(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	g, err := b.Export(r.Context(), r.URL.Query().Get("graph"))
	if err != nil {
		return err
	}
	files := func(m map[string][]byte) fileSet {
		out := fileSet{Files: map[string]string{}}
		for k, v := range m {
			out.Files[k] = string(v)
		}
		return out
	}
	var body any
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		body = g
	case "dot":
		body = render.DOT(g)
	case "markdown":
		body = files(render.MarkdownFiles(g))
	case "logseq":
		body = files(render.ExportLogseq(g))
	default:
		return httpapi.BadRequest("format %q: want json, dot, markdown or logseq", f)
	}
	// The counts GET /export checks first (smallExport) leave out metadata
	// and count characters; the answer itself must fit too.
	if size := httpapi.PayloadSize(body); size > kogral.MaxAnswerBytes {
		return httpapi.Errorf(http.StatusUnprocessableEntity, "too_large",
			"this export's answer would be %d bytes, above the %d that GET /export answers: export it with POST /exports", size, kogral.MaxAnswerBytes)
	}
	if dot, ok := body.(string); ok {
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		_, _ = w.Write([]byte(dot))
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// One import request writes at most this many nodes and edges, so that it
// ends well within an HTTP function's timeout: on a shared 2-core machine,
// one import of 8 000 small nodes and 7 999 edges took 13 s and then failed
// (the index's catch-up ran out of time), one of 2 000 and 1 999 took 1.1 s.
// Larger imports are sent in batches, as `stratum kogral import` does (500
// nodes, 2 000 edges a request).
const (
	maxImportNodes = 1000
	maxImportEdges = 5000
)

func importGraph(b kogral.Backend, w http.ResponseWriter, r *http.Request) error {
	var g kogral.Subgraph
	if err := httpapi.DecodeJSON(r, &g); err != nil {
		return err
	}
	if len(g.Nodes) > maxImportNodes || len(g.Edges) > maxImportEdges {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large",
			"an import takes at most %d nodes and %d edges per request (this one has %d and %d): send it in batches, as `stratum kogral import` does",
			maxImportNodes, maxImportEdges, len(g.Nodes), len(g.Edges))
	}
	res, err := b.Import(r.Context(), g)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

func filterFrom(r *http.Request) (kogral.Filter, error) {
	q := r.URL.Query()
	limit, err := httpapi.QueryInt(r, "limit", 0, 1, 1000)
	if err != nil {
		return kogral.Filter{}, err
	}
	f := kogral.Filter{NodeType: q.Get("type"), Tag: q.Get("tag"), GraphID: q.Get("graph"), Limit: limit}
	if f.NodeType != "" {
		if f.NodeType, err = kogral.NodeType(f.NodeType); err != nil {
			return kogral.Filter{}, err
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
