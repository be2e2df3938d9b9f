package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// RequestIDHeader carries the request id on every response.
const RequestIDHeader = "X-Request-Id"

// DefaultMaxBody is the body limit when Options.MaxBody is zero (1 MiB).
const DefaultMaxBody = 1 << 20

// Options configure the middleware of one function.
type Options struct {
	Function string
	Logger   *slog.Logger
	// MaxBody bounds request bodies; larger ones get 413.
	MaxBody int64
	Metrics *obs.Metrics
	// Errors writes error responses; default WriteJSONError.
	Errors ErrorWriter
}

// HandlerFunc is an HTTP handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to http.Handler, writing a returned error with the function's
// error shape. 5xx causes are logged; their detail never reaches the client.
func (o Options) Handle(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		NoteRoute(r)
		if err := h(w, r); err != nil {
			o.WriteError(w, r, err)
		}
	})
}

// WriteError classifies err and writes it.
func (o Options) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := Classify(err)
	if status >= 500 {
		obs.Log(r.Context()).Error("request failed", "status", status, "err", err)
	}
	o.errorWriter()(w, r, status, code, msg)
}

func (o Options) errorWriter() ErrorWriter {
	if o.Errors != nil {
		return o.Errors
	}
	return WriteJSONError
}

// routeNote is where a router below the middleware leaves the pattern it
// matched: it matches on a copy of the request (an auth layer's
// WithContext), whose Pattern the middleware never sees.
type routeNote struct{ pattern string }

type routeNoteKey struct{}

// NoteRoute records the pattern r matched for the middleware's access log
// and metrics; the most specific router (the last to call it) wins.
func NoteRoute(r *http.Request) {
	if n, ok := r.Context().Value(routeNoteKey{}).(*routeNote); ok && r.Pattern != "" {
		n.pattern = r.Pattern
	}
}

// Middleware wraps next with request ids, the body limit, panic recovery,
// an access log line and metrics.
func (o Options) Middleware(next http.Handler) http.Handler {
	base := o.Logger
	if base == nil {
		base = slog.Default()
	}
	maxBody := o.MaxBody
	if maxBody == 0 {
		maxBody = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > 128 {
			id = NewRequestID()
		}
		note := &routeNote{}
		ctx := obs.WithLogger(r.Context(), base)
		ctx = obs.WithRequestID(ctx, id)
		ctx = obs.WithTrace(ctx, requestTrace(r))
		ctx = context.WithValue(ctx, routeNoteKey{}, note)
		r = r.WithContext(ctx)
		w.Header().Set(RequestIDHeader, id)
		rec := &statusRecorder{ResponseWriter: w, req: r, errors: o.errorWriter()}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				obs.Log(ctx).Error("panic", "panic", p, "stack", string(debug.Stack()))
				if o.Metrics != nil {
					o.Metrics.ObserveError(o.Function, "panic")
				}
				if !rec.wrote {
					o.errorWriter()(rec, r, http.StatusInternalServerError, "internal", "internal error")
				}
			}
			route := note.pattern
			if route == "" {
				route = r.Pattern
			}
			if route == "" {
				route = "unmatched"
			}
			if o.Metrics != nil {
				o.Metrics.ObserveRequest(o.Function, r.Method, route, rec.status(), time.Since(start))
			}
			obs.Log(ctx).Info("request", "method", r.Method, "path", r.URL.Path, "route", route,
				"status", rec.status(), "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()

		if r.ContentLength > maxBody {
			o.errorWriter()(rec, r, http.StatusRequestEntityTooLarge, "too_large",
				"request body exceeds "+strconv.FormatInt(maxBody, 10)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
		next.ServeHTTP(rec, r)
	})
}

// requestTrace continues the caller's trace (a traceparent header, or the
// X-Amzn-Trace-Id that API Gateway and X-Ray add) in a span of this
// request, or starts one; events published while handling it carry it on.
func requestTrace(r *http.Request) obs.Trace {
	if t, ok := obs.ParseTraceparent(r.Header.Get(obs.TraceHeader)); ok {
		return t.Child()
	}
	if t, ok := obs.FromXRay(r.Header.Get("X-Amzn-Trace-Id")); ok {
		return t.Child()
	}
	return obs.NewTrace()
}

// ErrorShape gives net/http's plain-text errors (a mux's 404 and 405,
// http.Error) the error shape of ew. Middleware does this already; a bare
// router such as the devstack gateway uses it alone.
func ErrorShape(next http.Handler, ew ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&statusRecorder{ResponseWriter: w, req: r, errors: ew}, r)
	})
}

// NewRequestID returns 16 random bytes in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status code written, and turns the plain-text
// errors of net/http (the mux's 404 and 405, http.Error) into the function's
// error shape, so clients see one error format whatever answered.
type statusRecorder struct {
	http.ResponseWriter
	req     *http.Request
	errors  ErrorWriter
	code    int
	wrote   bool
	swallow bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.wrote {
		return
	}
	s.code, s.wrote = code, true
	if code >= 400 && strings.HasPrefix(s.Header().Get("Content-Type"), "text/plain") {
		s.swallow = true
		s.Header().Del("X-Content-Type-Options")
		msg := strings.ToLower(http.StatusText(code))
		if allow := s.Header().Get("Allow"); code == http.StatusMethodNotAllowed && allow != "" {
			msg = fmt.Sprintf("method %s not allowed; allowed: %s", s.req.Method, allow)
		}
		s.errors(s.ResponseWriter, s.req, code, codeFor(code), msg)
		return
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.swallow {
		return len(b), nil
	}
	if !s.wrote {
		s.code, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if !s.wrote {
		return http.StatusOK
	}
	return s.code
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
