// Package llmtest serves the LLM providers' wire formats on local HTTP
// servers, for tests and benchmarks of the router: the one place where a
// stand-in is allowed (no live provider calls). Each server checks the
// request as the real API would (path, credentials, body shape) and answers
// in that provider's exact format, including its error bodies, 429 with
// retry-after, 5xx, slow replies and replies that are not its format.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Modes a server answers in.
const (
	OK         = "ok"
	RateLimit  = "429"
	ServerErr  = "500"
	BadRequest = "400"
	Slow       = "slow"      // answers after Delay
	Malformed  = "malformed" // 200 with a body that is not JSON
	WrongShape = "wrong"     // 200 with JSON of another provider's shape
)

// Server is one provider's local server.
type Server struct {
	*httptest.Server
	Kind string
	Key  string // the API key it expects ("" for SigV4 on bedrock, none on ollama)
	// Output and the token counts of a successful reply.
	Output               string
	InputTokens, Outputs int64
	Delay                time.Duration

	mu       sync.Mutex
	mode     string
	script   []string
	Requests atomic.Int64
	bad      []string
	received []string
}

// New starts a server speaking kind's wire format (anthropic, openai,
// gemini, ollama, bedrock) that expects key.
func New(kind, key string) *Server {
	s := &Server{Kind: kind, Key: key, Output: "done by " + kind, InputTokens: 1000, Outputs: 500, mode: OK, Delay: 2 * time.Second}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetMode sets how the server answers from now on.
func (s *Server) SetMode(m string) { s.mu.Lock(); s.mode = m; s.script = nil; s.mu.Unlock() }

// Script makes the next requests answer in these modes, then the mode again.
func (s *Server) Script(modes ...string) { s.mu.Lock(); s.script = modes; s.mu.Unlock() }

// Received lists the bodies of the requests the real API would accept, in order.
func (s *Server) Received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

// Bad lists the requests that were not what the real API accepts.
func (s *Server) Bad() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

func (s *Server) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) > 0 {
		m := s.script[0]
		s.script = s.script[1:]
		return m
	}
	return s.mode
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	if problem := s.check(r, body); problem != "" {
		s.mu.Lock()
		s.bad = append(s.bad, problem)
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, problem)
		return
	}
	s.mu.Lock()
	s.received = append(s.received, string(body))
	s.mu.Unlock()
	switch mode := s.next(); mode {
	case OK:
		s.ok(w)
	case Slow:
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
		s.ok(w)
	case RateLimit:
		w.Header().Set("retry-after", "7")
		s.fail(w, http.StatusTooManyRequests, "rate limit reached")
	case ServerErr:
		s.fail(w, http.StatusInternalServerError, "internal server error")
	case BadRequest:
		s.fail(w, http.StatusBadRequest, "invalid request")
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `<html>upstream gateway</html>`)
	case WrongShape:
		writeJSON(w, 200, map[string]any{"result": "something else", "usage": map[string]any{}})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// check is what the real API would refuse: path, credentials, body shape.
func (s *Server) check(r *http.Request, body []byte) string {
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		return "body is not JSON"
	}
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	switch s.Kind {
	case "anthropic":
		return firstOf(want(r.URL.Path == "/v1/messages", "path "+r.URL.Path), want(r.Header.Get("x-api-key") == s.Key, "x-api-key"),
			want(r.Header.Get("anthropic-version") != "", "anthropic-version"), has(b, "model", "max_tokens", "messages"),
			roles(b["messages"], "user", "assistant"))
	case "openai":
		return firstOf(want(r.URL.Path == "/chat/completions" || r.URL.Path == "/v1/chat/completions", "path "+r.URL.Path),
			want(r.Header.Get("Authorization") == "Bearer "+s.Key, "authorization"), has(b, "model", "messages"),
			roles(b["messages"], "system", "user", "assistant"))
	case "gemini":
		return firstOf(want(strings.HasPrefix(r.URL.Path, "/v1beta/models/") && strings.HasSuffix(r.URL.Path, ":generateContent"), "path "+r.URL.Path),
			want(r.Header.Get("x-goog-api-key") == s.Key, "x-goog-api-key"), has(b, "contents"))
	case "ollama":
		return firstOf(want(r.URL.Path == "/api/chat", "path "+r.URL.Path), has(b, "model", "messages", "stream"),
			want(b["stream"] == false, "stream must be false"))
	case "bedrock":
		auth := r.Header.Get("Authorization")
		okAuth := (s.Key != "" && auth == "Bearer "+s.Key) || (s.Key == "" && strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") &&
			strings.Contains(auth, "/bedrock/aws4_request"))
		return firstOf(want(strings.HasPrefix(r.URL.Path, "/model/") && strings.HasSuffix(r.URL.Path, "/converse"), "path "+r.URL.Path),
			want(okAuth, "authorization "+auth), has(b, "messages"), roles(b["messages"], "user", "assistant"))
	}
	return "unknown kind " + s.Kind
}

func want(ok bool, what string) string {
	if ok {
		return ""
	}
	return "bad " + what
}

func firstOf(problems ...string) string {
	for _, p := range problems {
		if p != "" {
			return p
		}
	}
	return ""
}

func has(b map[string]any, fields ...string) string {
	for _, f := range fields {
		if _, ok := b[f]; !ok {
			return "missing " + f
		}
	}
	return ""
}

func roles(v any, allowed ...string) string {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return "messages: want a non-empty list"
	}
	for i, m := range list {
		role, _ := m.(map[string]any)["role"].(string)
		if !contains(allowed, role) {
			return fmt.Sprintf("messages[%d].role %q", i, role)
		}
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
