// Package apidoc writes a system's OpenAPI 3.1 document from its functions'
// registrations (httpapi.Operation): paths, parameters, request and
// response schemas reflected from the Go types, the error shape and the
// security schemes. Only the generator and the tests link it; a function
// serves the document embedded at build time (schemas.OpenAPIDocument).
package apidoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// System is what one system's document is made from.
type System struct {
	Name       string
	Operations []httpapi.Operation
	Errors     httpapi.ErrorFormat
}

type (
	document struct {
		OpenAPI    string                          `json:"openapi"`
		Info       info                            `json:"info"`
		Paths      map[string]map[string]operation `json:"paths"`
		Components components                      `json:"components"`
	}
	info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	components struct {
		Schemas         map[string]*jsonschema.Schema `json:"schemas"`
		SecuritySchemes map[string]securityScheme     `json:"securitySchemes"`
	}
	securityScheme struct {
		Type         string `json:"type"`
		In           string `json:"in,omitempty"`
		Name         string `json:"name,omitempty"`
		Scheme       string `json:"scheme,omitempty"`
		BearerFormat string `json:"bearerFormat,omitempty"`
		Description  string `json:"description,omitempty"`
	}
	operation struct {
		OperationID string                `json:"operationId"`
		Summary     string                `json:"summary,omitempty"`
		Parameters  []parameter           `json:"parameters,omitempty"`
		RequestBody *requestBody          `json:"requestBody,omitempty"`
		Responses   map[string]response   `json:"responses"`
		Security    []map[string][]string `json:"security"`
	}
	parameter struct {
		Name        string             `json:"name"`
		In          string             `json:"in"`
		Description string             `json:"description,omitempty"`
		Required    bool               `json:"required"`
		Schema      *jsonschema.Schema `json:"schema"`
	}
	requestBody struct {
		Required bool                 `json:"required"`
		Content  map[string]mediaType `json:"content"`
	}
	mediaType struct {
		Schema *jsonschema.Schema `json:"schema"`
	}
	response struct {
		Description string               `json:"description"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
)

// errorSchema is the name of the error body in components.schemas.
const errorSchema = "Error"

// Security schemes: the platform's principal takes an API key or a JWT.
var schemes = map[string]securityScheme{
	"apiKey": {Type: "apiKey", In: "header", Name: "X-API-Key", Description: "a key from API_KEYS"},
	"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "an HS256 JWT with scopes"},
}

// Document is sys's OpenAPI 3.1 document, indented JSON ending in a newline.
// Mounted operations (routers of their own) are left out.
func Document(sys System) ([]byte, error) {
	comps := map[string]*jsonschema.Schema{}
	rf := newReflector(comps)
	errBody, err := rf.schemaOf(reflect.TypeOf(sys.Errors.Body), false)
	if err != nil {
		return nil, fmt.Errorf("%s error body: %w", sys.Name, err)
	}
	comps[errorSchema] = errBody
	doc := document{OpenAPI: "3.1.0",
		Info: info{Title: "StratumIOps " + sys.Name + " API", Version: "1",
			Description: "Generated from the registrations of the " + sys.Name + " functions."},
		Paths:      map[string]map[string]operation{},
		Components: components{Schemas: comps, SecuritySchemes: schemes}}
	for _, op := range sys.Operations {
		if op.Mounted {
			continue
		}
		o, err := rf.describe(op)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", sys.Name, op.Route(), err)
		}
		if doc.Paths[op.Path] == nil {
			doc.Paths[op.Path] = map[string]operation{}
		}
		doc.Paths[op.Path][strings.ToLower(op.Method)] = o
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

var pathParam = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

func (rf *reflector) describe(op httpapi.Operation) (operation, error) {
	o := operation{OperationID: operationID(op), Summary: op.Summary, Security: []map[string][]string{{"apiKey": {}}, {"bearer": {}}},
		Responses: map[string]response{"default": {Description: "an error",
			Content: map[string]mediaType{"application/json": {Schema: &jsonschema.Schema{Ref: "#/components/schemas/" + errorSchema}}}}}}
	if op.Public {
		o.Security = []map[string][]string{}
	}
	for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
		o.Parameters = append(o.Parameters, parameter{Name: m[1], In: "path", Required: true, Schema: &jsonschema.Schema{Type: "string"}})
	}
	for _, q := range op.Query {
		typ := q.Type
		if typ == "" {
			typ = "string"
		}
		o.Parameters = append(o.Parameters, parameter{Name: q.Name, In: "query", Description: q.Description, Required: q.Required,
			Schema: &jsonschema.Schema{Type: typ}})
	}
	if op.In != nil {
		s, err := rf.schemaOf(op.In, true)
		if err != nil {
			return o, fmt.Errorf("request body: %w", err)
		}
		o.RequestBody = &requestBody{Required: true, Content: map[string]mediaType{"application/json": {Schema: s}}}
	}
	ok := response{Description: http.StatusText(op.Status)}
	if op.Out != nil {
		s, err := rf.schemaOf(op.Out, false)
		if err != nil {
			return o, fmt.Errorf("response body: %w", err)
		}
		ok.Content = map[string]mediaType{"application/json": {Schema: s}}
	}
	o.Responses[strconv.Itoa(op.Status)] = ok
	for _, st := range op.AlsoStatus {
		also := ok
		also.Description = http.StatusText(st)
		o.Responses[strconv.Itoa(st)] = also
	}
	return o, nil
}

// operationID is method and path in camel case: GET /tasks/{id}/status → getTasksIdStatus.
func operationID(op httpapi.Operation) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(op.Method))
	for _, part := range strings.FieldsFunc(op.Path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '.' || r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Types whose JSON is not what reflection sees.
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): {},
	reflect.TypeFor[time.Duration]():   {Type: "integer", Description: "nanoseconds"},
}

// reflector turns Go types into schemas. A recursive type (a block with
// child blocks) goes to components.schemas once and is referenced from
// wherever it appears.
type reflector struct {
	components map[string]*jsonschema.Schema
	known      map[reflect.Type]*jsonschema.Schema
}

func newReflector(components map[string]*jsonschema.Schema) *reflector {
	known := map[reflect.Type]*jsonschema.Schema{}
	for t, s := range typeSchemas {
		known[t] = s
	}
	return &reflector{components: components, known: known}
}

// schemaOf reflects t. A request schema requires nothing: handlers check
// required fields themselves and name the missing one, which a schema
// validator in front of them would only say less clearly.
func (rf *reflector) schemaOf(t reflect.Type, request bool) (*jsonschema.Schema, error) {
	for _, rec := range recursiveTypes(t) {
		if err := rf.component(rec); err != nil {
			return nil, err
		}
	}
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: rf.known})
	if err != nil {
		return nil, err
	}
	if request {
		dropRequired(s)
	}
	return s, nil
}

// component puts the recursive struct type t in components.schemas: its
// fields are reflected through an unnamed copy of the struct, in which t
// itself is a reference.
func (rf *reflector) component(t reflect.Type) error {
	if _, done := rf.known[t]; done {
		return nil
	}
	// The reference admits null, and says so in its type, because the
	// reflector marks a pointer's schema nullable by adding "null" to its
	// types: a bare {"type":["null"],"$ref":…} would admit nothing else.
	ref := "#/components/schemas/" + t.Name()
	rf.known[t] = &jsonschema.Schema{Types: []string{"null", "object"},
		AnyOf: []*jsonschema.Schema{{Type: "null"}, {Ref: ref}}}
	var fields []reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() && len(f.Index) == 1 {
			fields = append(fields, f)
		}
	}
	s, err := jsonschema.ForType(reflect.StructOf(fields), &jsonschema.ForOptions{TypeSchemas: rf.known})
	if err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	// A required field that holds t again would make every instance
	// infinite; validators refuse such a schema, and the field is in fact
	// empty at the leaves.
	s.Required = slices.DeleteFunc(s.Required, func(name string) bool {
		raw, _ := json.Marshal(s.Properties[name])
		return bytes.Contains(raw, []byte(`"`+ref+`"`))
	})
	rf.components[t.Name()] = s
	return nil
}

// recursiveTypes are the named struct types reachable from t that reach themselves.
func recursiveTypes(t reflect.Type) []reflect.Type {
	var out []reflect.Type
	var walk func(t reflect.Type, path []reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type, path []reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for _, p := range path {
			if p == t && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
			if p == t {
				return
			}
		}
		for _, f := range reflect.VisibleFields(t) {
			if f.IsExported() {
				walk(f.Type, append(path, t))
			}
		}
	}
	walk(t, nil)
	return out
}

func dropRequired(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.Required = nil
	for _, p := range s.Properties {
		dropRequired(p)
	}
	dropRequired(s.Items)
	dropRequired(s.AdditionalProperties)
	for _, d := range s.Defs {
		dropRequired(d)
	}
}
