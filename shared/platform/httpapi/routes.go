package httpapi

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Op is one HTTP operation of a service S, declared once: the function's
// router, the check against the catalog and the system's OpenAPI document are
// all made from it.
type Op[S any] struct {
	// Method is GET, POST, PUT, PATCH or DELETE; ANY only for a Mount.
	Method string
	// Path is written as in the catalog: /tasks/{id}; a Mount may end in a
	// greedy {name+}.
	Path    string
	Summary string
	// Query documents the query parameters the handler reads.
	Query []Param
	// In and Out are values of the request and success body types (Task{},
	// []Task{}); nil means no JSON body.
	In, Out any
	// Status is the success status; 0 means 200.
	Status int
	// AlsoStatus lists other success statuses answered with the same body
	// type (200 for a create that found the record already there).
	AlsoStatus []int
	// Public operations skip the service's authentication (the OpenAPI
	// document itself); everything else goes through Spec.Auth.
	Public bool
	// Handle serves the operation and returns its error for the spec's error shape.
	Handle func(S, http.ResponseWriter, *http.Request) error
	// Mount, instead of Handle, hands the request to a router of its own (the
	// vault's path table, the MCP transport); such operations are not documented.
	Mount func(S) http.Handler
}

// Param is a documented query parameter.
type Param struct {
	Name        string
	Description string
	// Type is a JSON Schema type: string (the default), integer, boolean.
	Type     string
	Required bool
}

// ErrorFormat is how a system writes errors: the writer and a value of the
// body type it writes (for the document).
type ErrorFormat struct {
	Write ErrorWriter
	Body  any
}

// ErrorBody is the body WriteJSONError writes.
type ErrorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// JSONErrors is the platform's error shape: {"error":{"code","message"}}.
var JSONErrors = ErrorFormat{Write: WriteJSONError, Body: ErrorBody{}}

// Spec is the HTTP surface of one function: its operations, its error shape
// and how its callers authenticate.
type Spec[S any] struct {
	Ops []Op[S]
	// Errors is the error shape; the zero value means JSONErrors.
	Errors ErrorFormat
	// Auth wraps every operation that is not Public (nil: none).
	Auth func(S) func(http.Handler) http.Handler
}

// Operation is an Op without its handler: what the catalog check and the
// OpenAPI document read.
type Operation struct {
	Method, Path, Summary string
	Query                 []Param
	In, Out               reflect.Type
	Status                int
	AlsoStatus            []int
	Public, Mounted       bool
}

// Route is the operation's catalog route key: "GET /tasks/{id}".
func (o Operation) Route() string { return o.Method + " " + o.Path }

// Operations describes the spec's operations, in declaration order.
func (sp Spec[S]) Operations() []Operation {
	out := make([]Operation, len(sp.Ops))
	for i, op := range sp.Ops {
		status := op.Status
		if status == 0 {
			status = http.StatusOK
		}
		out[i] = Operation{Method: op.Method, Path: op.Path, Summary: op.Summary, Query: op.Query,
			In: typeOf(op.In), Out: typeOf(op.Out), Status: status, AlsoStatus: op.AlsoStatus,
			Public: op.Public, Mounted: op.Mount != nil}
	}
	return out
}

func typeOf(v any) reflect.Type {
	if v == nil {
		return nil
	}
	return reflect.TypeOf(v)
}

// Shape is the spec's error shape with the default filled in.
func (sp Spec[S]) Shape() ErrorFormat {
	if sp.Errors.Write == nil {
		return JSONErrors
	}
	return sp.Errors
}

// Handler routes the spec's operations to svc.
func (sp Spec[S]) Handler(svc S) http.Handler {
	o := Options{Errors: sp.Shape().Write}
	var auth func(http.Handler) http.Handler
	if sp.Auth != nil {
		auth = sp.Auth(svc)
	}
	mux := http.NewServeMux()
	for _, op := range sp.Ops {
		var h http.Handler
		if op.Mount != nil {
			h = op.Mount(svc)
		} else {
			handle, known := op.Handle, op.Query
			h = o.Handle(func(w http.ResponseWriter, r *http.Request) error {
				if err := checkQuery(r, known); err != nil {
					return err
				}
				return handle(svc, w, r)
			})
		}
		if auth != nil && !op.Public {
			h = auth(h)
		}
		mux.Handle(MuxPattern(op.Method, op.Path), noted(h))
	}
	return mux
}

// noted records the matched pattern for the access log (see NoteRoute).
func noted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		NoteRoute(r)
		h.ServeHTTP(w, r)
	})
}

// checkQuery refuses a query parameter the operation does not declare, so
// that a misspelt filter is an error rather than a silently wider answer.
func checkQuery(r *http.Request, known []Param) error {
	for name := range r.URL.Query() {
		if !slices.ContainsFunc(known, func(p Param) bool { return p.Name == name }) {
			if len(known) == 0 {
				return BadRequest("unknown query parameter %q (this route takes none)", name)
			}
			names := make([]string, len(known))
			for i, p := range known {
				names[i] = p.Name
			}
			return BadRequest("unknown query parameter %q (known: %s)", name, strings.Join(names, ", "))
		}
	}
	return nil
}

// MuxPattern turns a catalog route into a ServeMux pattern: ANY matches every
// method, and a greedy {name+} becomes {name...}.
func MuxPattern(method, path string) string {
	path = strings.ReplaceAll(path, "+}", "...}")
	if method == "ANY" {
		return path
	}
	return method + " " + path
}

// DocumentOp is the operation that serves a system's OpenAPI document (made
// from the registrations at build time and embedded in the binary).
func DocumentOp[S any](doc []byte) Op[S] {
	return Op[S]{Method: http.MethodGet, Path: "/openapi.json", Summary: "This API's OpenAPI 3.1 document", Public: true,
		Handle: func(_ S, w http.ResponseWriter, _ *http.Request) error {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, err := w.Write(doc)
			return err
		}}
}
