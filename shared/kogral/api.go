package kogral

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// apiError maps Kogral's errors to HTTP answers.
func apiError(err error) error {
	var in *InputError
	var nf *NotFoundError
	var cf *ConflictError
	var pe *ParseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &in):
		return httpapi.BadRequest("%s", in.Msg)
	case errors.As(err, &pe):
		return httpapi.BadRequest("%s", pe.Error())
	case errors.As(err, &nf):
		return httpapi.NotFound("%s", nf.Error())
	case errors.As(err, &cf):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", cf.Msg)
	}
	return err
}

// NewAPI serves kogral-api over b.
func NewAPI(b Backend) http.Handler {
	var o httpapi.Options
	mux := http.NewServeMux()
	h := func(f func(w http.ResponseWriter, r *http.Request) error) http.Handler {
		return o.Handle(func(w http.ResponseWriter, r *http.Request) error { return apiError(f(w, r)) })
	}
	mux.Handle("POST /nodes", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	mux.Handle("GET /nodes", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	mux.Handle("GET /nodes/{id}", h(func(w http.ResponseWriter, r *http.Request) error {
		n, err := b.GetNode(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, n)
		return nil
	}))
	mux.Handle("PUT /nodes/{id}", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	mux.Handle("DELETE /nodes/{id}", h(func(w http.ResponseWriter, r *http.Request) error {
		if err := b.DeleteNode(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	mux.Handle("GET /nodes/{id}/edges", h(func(w http.ResponseWriter, r *http.Request) error {
		list, err := b.Edges(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"edges": list})
		return nil
	}))
	mux.Handle("GET /nodes/{id}/connected", h(func(w http.ResponseWriter, r *http.Request) error {
		depth, err := httpapi.QueryInt(r, "depth", 1, 1, MaxDepth)
		if err != nil {
			return err
		}
		g, err := b.Connected(r.Context(), r.PathValue("id"), depth)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, g)
		return nil
	}))
	mux.Handle("POST /edges", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	mux.Handle("DELETE /edges", h(func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		if q.Get("source") == "" || q.Get("target") == "" {
			return httpapi.BadRequest("source and target are required")
		}
		if err := b.Unlink(r.Context(), q.Get("source"), q.Get("target"), q.Get("relation")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	mux.Handle("GET /graphs", h(func(w http.ResponseWriter, r *http.Request) error {
		list, err := b.Graphs(r.Context())
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"graphs": list})
		return nil
	}))
	mux.Handle("GET /graphs/{id}/guidelines", h(func(w http.ResponseWriter, r *http.Request) error {
		list, err := b.Guidelines(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		if list == nil {
			list = []EffectiveGuideline{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"guidelines": list})
		return nil
	}))
	mux.Handle("GET /search", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	mux.Handle("GET /path", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	mux.Handle("GET /export", h(func(w http.ResponseWriter, r *http.Request) error {
		g, err := b.Export(r.Context(), r.URL.Query().Get("graph"))
		if err != nil {
			return err
		}
		switch r.URL.Query().Get("format") {
		case "", "json":
			httpapi.WriteJSON(w, http.StatusOK, g)
		case "dot":
			w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
			_, _ = w.Write([]byte(DOT(g)))
		case "markdown":
			files := map[string]string{}
			for k, v := range MarkdownFiles(g) {
				files[k] = string(v)
			}
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"files": files})
		default:
			return httpapi.BadRequest("format %q: want json, dot or markdown", r.URL.Query().Get("format"))
		}
		return nil
	}))
	mux.Handle("POST /import", h(func(w http.ResponseWriter, r *http.Request) error {
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
	}))
	return mux
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
