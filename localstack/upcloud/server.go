// Package upcloud is a local server speaking UpCloud's API 1.3 for the calls
// Provisioning's upcloud provider makes: servers (POST /1.3/server, GET,
// stop, DELETE ?storages=1, storage attach/detach), storages (templates,
// normal, create, delete) and networks, with basic auth or a bearer token,
// UpCloud's JSON documents ({"server":{…}}, lists as {"servers":{"server":[…]}})
// and its errors {"error":{"error_code":…,"error_message":…}}. Servers and
// storages pass through maintenance before they are started or online, one
// read at a time. Tests and the devstack (when no real endpoint is set) use
// it; Calls, Fail and State are its inspection side, also served as JSON
// under /_stratum/.
package upcloud

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Call is one request the server answered.
type Call struct {
	Method string `json:"method"`
	Path   string `json:"path"` // with its query
	Body   string `json:"body,omitempty"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Server is the local UpCloud account.
type Server struct {
	Username, Password, Token string

	mu       sync.Mutex
	mux      *http.ServeMux
	calls    []Call
	faults   map[string][]string
	servers  map[string]*server
	storages map[string]*storage
	networks map[string]*network
}

// New returns an empty account that accepts username:password or token.
func New(username, password, token string) *Server {
	s := &Server{Username: username, Password: password, Token: token, faults: map[string][]string{},
		servers: map[string]*server{}, storages: map[string]*storage{}, networks: map[string]*network{}}
	for _, t := range templates {
		s.storages[t.UUID] = &storage{doc: t}
	}
	s.mux = http.NewServeMux()
	for pattern, h := range map[string]func(*http.Request) (int, any, *apiError){
		"GET /1.3/server": s.listServers, "POST /1.3/server": s.createServer, "GET /1.3/server/{uuid}": s.getServer,
		"POST /1.3/server/{uuid}/stop": s.stopServer, "DELETE /1.3/server/{uuid}": s.deleteServer,
		"POST /1.3/server/{uuid}/storage/attach": s.attach, "POST /1.3/server/{uuid}/storage/detach": s.detach,
		"GET /1.3/storage/template": s.listTemplates, "GET /1.3/storage/normal": s.listNormal, "POST /1.3/storage": s.createStorage,
		"GET /1.3/storage/{uuid}": s.getStorage, "DELETE /1.3/storage/{uuid}": s.deleteStorage,
		"GET /1.3/network": s.listNetworks, "POST /1.3/network": s.createNetwork, "GET /1.3/network/{uuid}": s.getNetwork,
		"DELETE /1.3/network/{uuid}": s.deleteNetwork,
	} {
		s.mux.Handle(pattern, s.route(pattern, h))
	}
	return s
}

type apiError struct {
	status        int
	code, message string
}

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

// statusOf is the HTTP status UpCloud answers a scripted code with.
func statusOf(code string) int {
	switch code {
	case "SERVER_STATE_ILLEGAL", "SERVER_RESOURCES_UNAVAILABLE", "STORAGE_ATTACHED", "STORAGE_STATE_ILLEGAL":
		return 409
	case "INSUFFICIENT_CREDITS":
		return 402
	case "SERVER_CORE_LIMIT_REACHED", "SERVER_FORBIDDEN":
		return 403
	case "TOO_MANY_REQUESTS":
		return 429
	case "SERVICE_UNAVAILABLE":
		return 503
	case "INTERNAL_ERROR":
		return 500
	}
	return 400
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_stratum/") {
		s.inspect(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) route(pattern string, h func(*http.Request) (int, any, *apiError)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := readBody(r)
		s.mu.Lock()
		status, out, aerr := s.answer(pattern, r, h)
		call := Call{Method: r.Method, Path: r.URL.RequestURI(), Body: body, Status: status}
		if aerr != nil {
			call.Status, call.Error = aerr.status, aerr.code
		}
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if aerr != nil {
			w.WriteHeader(aerr.status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"error_code": aerr.code, "error_message": aerr.message}})
			return
		}
		w.WriteHeader(status)
		if out != nil {
			_ = json.NewEncoder(w).Encode(out)
		}
	})
}

func (s *Server) answer(pattern string, r *http.Request, h func(*http.Request) (int, any, *apiError)) (int, any, *apiError) {
	if !s.authorized(r) {
		return 0, nil, fail(401, "AUTHENTICATION_FAILED", "Authentication failed using the given username and password.")
	}
	if codes := s.faults[pattern]; len(codes) > 0 {
		s.faults[pattern] = codes[1:]
		return 0, nil, fail(statusOf(codes[0]), codes[0], "scripted failure of %s", pattern)
	}
	return h(r)
}

func (s *Server) authorized(r *http.Request) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.Token != "" && tok == s.Token
	}
	u, p, ok := r.BasicAuth()
	return ok && s.Username != "" && u == s.Username && p == s.Password
}

func readBody(r *http.Request) string {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return string(raw)
}

// decode reads {"<wrapper>": {…}} strictly: an attribute UpCloud does not
// know is UNKNOWN_ATTRIBUTE.
func decode(r *http.Request, wrapper string, into any) *apiError {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return fail(400, "INVALID_REQUEST", "The request body is not valid JSON: %v", err)
	}
	inner, ok := raw[wrapper]
	if !ok || len(raw) != 1 {
		return fail(400, "UNKNOWN_ATTRIBUTE", "The request must contain exactly the attribute %s.", wrapper)
	}
	dec := json.NewDecoder(strings.NewReader(string(inner)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fail(400, "UNKNOWN_ATTRIBUTE", "%s: %v", wrapper, err)
	}
	return nil
}

func newUUID(prefix byte) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0] = prefix
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Calls returns the requests answered so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Routes returns "METHOD path" (without the query) of each call, in order.
func (s *Server) Routes() []string {
	var out []string
	for _, c := range s.Calls() {
		path, _, _ := strings.Cut(c.Path, "?")
		out = append(out, c.Method+" "+path)
	}
	return out
}

// Fail makes the next calls of pattern ("POST /1.3/server") answer these
// error codes, one each.
func (s *Server) Fail(pattern string, codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[pattern] = append(s.faults[pattern], codes...)
}

// State is what the account holds: each server's and storage's state and the networks.
type State struct {
	Servers  map[string]string `json:"servers"`
	Storages map[string]string `json:"storages"`
	Networks []string          `json:"networks"`
}

// State returns each resource's state (templates left out).
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Servers: map[string]string{}, Storages: map[string]string{}, Networks: []string{}}
	for id, sv := range s.servers {
		st.Servers[id] = sv.doc.State
	}
	for id, sg := range s.storages {
		if sg.doc.Type != "template" {
			st.Storages[id] = sg.doc.State
		}
	}
	for id := range s.networks {
		st.Networks = append(st.Networks, id)
	}
	return st
}

func (s *Server) inspect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_stratum/calls":
		_ = json.NewEncoder(w).Encode(s.Calls())
	case r.Method == http.MethodGet && r.URL.Path == "/_stratum/state":
		_ = json.NewEncoder(w).Encode(s.State())
	case r.Method == http.MethodPost && r.URL.Path == "/_stratum/fail":
		var in struct {
			Route string   `json:"route"`
			Codes []string `json:"codes"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Route == "" {
			http.Error(w, `{"error":"want {\"route\":\"POST /1.3/server\",\"codes\":[…]}"}`, http.StatusBadRequest)
			return
		}
		s.Fail(in.Route, in.Codes...)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}
