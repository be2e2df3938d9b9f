package portfolio

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// Spec is portfolio-executions' HTTP surface. It also serves the
// portfolio's OpenAPI document.
var Spec = httpapi.Spec[*API]{Auth: func(a *API) func(http.Handler) http.Handler { return a.auth.Middleware },
	Ops: []httpapi.Op[*API]{
		httpapi.DocumentOp[*API](schemas.OpenAPIDocument("portfolio")),
		{Method: "POST", Path: "/executions", Summary: "Record an execution", In: NewExecution{}, Out: Execution{},
			Status: http.StatusCreated, Handle: (*API).create},
		{Method: "GET", Path: "/executions", Summary: "List executions, newest first", Out: listResponse{},
			Query: []httpapi.Param{{Name: "project"}, {Name: "source"},
				{Name: "since", Description: "RFC 3339"}, {Name: "until", Description: "RFC 3339"},
				{Name: "limit", Type: "integer", Description: "1–500 (default 50)"},
				{Name: "cursor", Description: "next_cursor of the previous page"}},
			Handle: (*API).list},
		{Method: "GET", Path: "/executions/{id}", Summary: "Read an execution", Out: Execution{}, Handle: (*API).get},
	}}

// API serves the executions HTTP API over a store: auth authenticates every
// caller, engine (schemas/cedar/portfolio) decides which scopes' executions
// it may read and record.
type API struct {
	store *Store
	authz *authz.Engine
	auth  *principal.Authenticator
}

// NewAPI is the API over store.
func NewAPI(store *Store, engine *authz.Engine, auth *principal.Authenticator) *API {
	return &API{store: store, authz: engine, auth: auth}
}

// entity is an execution as Cedar sees it.
func entity(id, scope string) cedar.Entity {
	return authz.Entity(cedar.NewEntityUID("Execution", cedar.String(id)), cedar.RecordMap{"scope": cedar.String(scope)})
}

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	var in NewExecution
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if in.Scope == "" {
		caller := principal.From(r.Context())
		if len(caller.Scopes) != 1 {
			return httpapi.BadRequest("field \"scope\": required (you hold %d scopes)", len(caller.Scopes))
		}
		in.Scope = caller.Scopes[0]
	}
	if !a.authz.Allows(r.Context(), "write", entity("new", in.Scope)) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "you cannot record executions in scope %q", in.Scope)
	}
	ex, err := a.store.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/executions/"+ex.ID)
	httpapi.WriteJSON(w, http.StatusCreated, ex)
	return nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return httpapi.BadRequest("execution id %q is malformed", id)
	}
	ex, err := a.store.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.authz.Allows(r.Context(), "read", entity(ex.ID, ex.Scope))) {
		return httpapi.NotFound("execution %q not found", id)
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ex)
	return nil
}

type listResponse struct {
	Executions []Execution `json:"executions"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return httpapi.BadRequest("malformed query string: %v", err)
	}
	f := Filter{Scopes: principal.From(r.Context()).Scopes, Project: q.Get("project"), Source: q.Get("source")}
	if f.Limit, err = httpapi.QueryInt(r, "limit", 50, 1, 500); err != nil {
		return err
	}
	if f.Since, err = queryTime(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(q.Get("until"), "until"); err != nil {
		return err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return httpapi.BadRequest("query parameter \"since\" must be before \"until\"")
	}
	if c := q.Get("cursor"); c != "" {
		cur, err := decodeCursor(c)
		if err != nil {
			return err
		}
		f.After = &cur
	}
	items, more, err := a.store.List(r.Context(), f)
	if err != nil {
		return err
	}
	res := listResponse{Executions: []Execution{}}
	for _, ex := range items {
		if a.authz.Allows(r.Context(), "read", entity(ex.ID, ex.Scope)) {
			res.Executions = append(res.Executions, ex)
		}
	}
	if more {
		last := items[len(items)-1]
		res.NextCursor = encodeCursor(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

func queryTime(raw, name string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, httpapi.BadRequest("query parameter %q: %q is not an RFC 3339 time", name, raw)
	}
	return t.UTC(), nil
}

func encodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

func decodeCursor(s string) (Cursor, error) {
	bad := httpapi.BadRequest("query parameter \"cursor\" is not a cursor from a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || !idPattern.MatchString(id) {
		return Cursor{}, bad
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Cursor{}, bad
	}
	return Cursor{CreatedAt: t, ID: id}, nil
}
