package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxReply bounds a provider's reply body.
const maxReply = 8 << 20

// defaultTimeout bounds one provider call when the provider names none;
// set timeout_ms so that a rule's whole chain fits in the caller's limit
// (API Gateway answers 503 after 30 s).
const defaultTimeout = 25 * time.Second

// CallError is a failed provider call, classified for the attempt record.
type CallError struct {
	Outcome    string // rate_limited, http_error, timeout, malformed, network
	HTTPStatus int
	RetryAfter string
	Msg        string
}

func (e *CallError) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Outcome, e.HTTPStatus, e.Msg)
	}
	return e.Outcome + ": " + e.Msg
}

func malformed(format string, args ...any) *CallError {
	return &CallError{Outcome: "malformed", Msg: fmt.Sprintf(format, args...)}
}

// wire is one provider kind's wire format: how to build the HTTP request,
// and how to read a successful reply and an error body.
type wire interface {
	request(ctx context.Context, p Provider, key string, req Request) (*http.Request, error)
	reply(body []byte) (Reply, error)
	errorMessage(body []byte) string
}

var wires = map[string]wire{
	KindAnthropic: anthropicWire{},
	KindOpenAI:    openaiWire{},
	KindGemini:    geminiWire{},
	KindOllama:    ollamaWire{},
	KindBedrock:   &bedrockWire{},
}

// Caller calls providers over HTTP.
type Caller struct {
	HTTP *http.Client
}

// NewCaller returns a caller with a pooled transport sized for concurrent routing.
func NewCaller() *Caller {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	tr.MaxIdleConns = 1024
	return &Caller{HTTP: &http.Client{Transport: tr}}
}

// Call sends req to provider p and classifies any failure as a *CallError.
func (c *Caller) Call(ctx context.Context, p Provider, key string, req Request) (Reply, error) {
	w, ok := wires[p.Kind]
	if !ok {
		return Reply{}, fmt.Errorf("provider %s: unknown kind %q", p.Name, p.Kind)
	}
	timeout := defaultTimeout
	if p.TimeoutMs > 0 {
		timeout = time.Duration(p.TimeoutMs) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := w.request(ctx, p, key, req)
	if err != nil {
		return Reply{}, fmt.Errorf("provider %s: build request: %w", p.Name, err)
	}
	res, err := c.HTTP.Do(hreq)
	if err != nil {
		return Reply{}, transportError(ctx, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxReply))
	if err != nil {
		return Reply{}, transportError(ctx, err)
	}
	if res.StatusCode/100 != 2 {
		return Reply{}, httpError(res, w.errorMessage(body))
	}
	return w.reply(body)
}

func transportError(ctx context.Context, err error) *CallError {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &CallError{Outcome: "timeout", Msg: err.Error()}
	}
	return &CallError{Outcome: "network", Msg: err.Error()}
}

func httpError(res *http.Response, msg string) *CallError {
	e := &CallError{Outcome: "http_error", HTTPStatus: res.StatusCode, Msg: msg}
	if res.StatusCode == http.StatusTooManyRequests {
		e.Outcome = "rate_limited"
		e.RetryAfter = res.Header.Get("Retry-After")
	}
	if e.Msg == "" {
		e.Msg = http.StatusText(res.StatusCode)
	}
	return e
}

// postJSON builds a JSON POST.
func postJSON(ctx context.Context, url string, body any) (*http.Request, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// decodeStrict reads a reply body into v; anything that is not JSON of
// that shape is a malformed reply.
func decodeStrict(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return malformed("reply is not the provider's JSON: %v", err)
	}
	return nil
}

// base is the provider's base URL without a trailing slash, or def.
func base(p Provider, def string) string {
	if p.BaseURL == "" {
		return def
	}
	return strings.TrimRight(p.BaseURL, "/")
}

// splitSystem separates the system prompt from the conversation, as the
// providers that take it apart want.
func splitSystem(msgs []Message) (string, []Message) {
	var sys []string
	var rest []Message
	for _, m := range msgs {
		if m.Role == "system" {
			sys = append(sys, m.Content)
			continue
		}
		rest = append(rest, m)
	}
	return strings.Join(sys, "\n\n"), rest
}

// errorField reads {"error":{"message":…}} or {"error":"…"} or {"message":…}.
func errorField(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return truncate(string(body))
	}
	var s string
	if json.Unmarshal(v.Error, &s) == nil && s != "" {
		return s
	}
	var o struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(v.Error, &o) == nil && o.Message != "" {
		return strings.TrimSpace(strings.Join([]string{o.Type, o.Status, o.Message}, " "))
	}
	if v.Message != "" {
		return v.Message
	}
	return truncate(string(body))
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
