package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// TraceHeader is the W3C trace context header, on HTTP requests and on bus
// messages (NATS headers), so one trace id follows a request from the API
// through the events it publishes to the consumers that handle them.
const TraceHeader = "traceparent"

// Trace is a W3C trace context: a 32-hex trace id shared by every span of a
// request, the 16-hex id of the current span, and the sampled flag.
type Trace struct {
	TraceID string
	SpanID  string
	Sampled bool
}

// ParseTraceparent reads a version-00 traceparent header.
func ParseTraceparent(s string) (Trace, bool) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 4 || parts[0] != "00" || !hexOf(parts[1], 32) || !hexOf(parts[2], 16) || !hexOf(parts[3], 2) ||
		parts[1] == strings.Repeat("0", 32) || parts[2] == strings.Repeat("0", 16) {
		return Trace{}, false
	}
	return Trace{TraceID: parts[1], SpanID: parts[2], Sampled: parts[3] == "01"}, true
}

// FromXRay reads an X-Amzn-Trace-Id header (Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1):
// the X-Ray trace id is a W3C trace id once its dashes are dropped.
func FromXRay(h string) (Trace, bool) {
	var t Trace
	for _, kv := range strings.Split(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "Root":
			p := strings.Split(v, "-")
			if len(p) != 3 || p[0] != "1" || !hexOf(p[1]+p[2], 32) {
				return Trace{}, false
			}
			t.TraceID = strings.ToLower(p[1] + p[2])
		case "Parent":
			if hexOf(v, 16) {
				t.SpanID = strings.ToLower(v)
			}
		case "Sampled":
			t.Sampled = v == "1"
		}
	}
	if t.TraceID == "" {
		return Trace{}, false
	}
	if t.SpanID == "" {
		t.SpanID = randomHex(8)
	}
	return t, true
}

// NewTrace starts a trace.
func NewTrace() Trace { return Trace{TraceID: randomHex(16), SpanID: randomHex(8), Sampled: true} }

// Child is a new span of the same trace.
func (t Trace) Child() Trace {
	return Trace{TraceID: t.TraceID, SpanID: randomHex(8), Sampled: t.Sampled}
}

// Traceparent formats t as a traceparent header.
func (t Trace) Traceparent() string {
	flags := "00"
	if t.Sampled {
		flags = "01"
	}
	return "00-" + t.TraceID + "-" + t.SpanID + "-" + flags
}

type traceKey struct{}

// WithTrace stores t in ctx and adds its trace id to ctx's logger.
func WithTrace(ctx context.Context, t Trace) context.Context {
	ctx = context.WithValue(ctx, traceKey{}, t)
	return WithLogger(ctx, Log(ctx).With("trace_id", t.TraceID))
}

// TraceFrom returns the trace stored in ctx.
func TraceFrom(ctx context.Context) (Trace, bool) {
	t, ok := ctx.Value(traceKey{}).(Trace)
	return t, ok
}

func hexOf(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
