package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/auditlog"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// The audit log (shared/vault/auditlog) is a set of lanes, each a chain of
// HMAC links keyed with the audit chain key, checkpointed outside the
// database by vault-audit. A request is logged before it acts, and does not
// act if it cannot be logged; its response is logged before it is answered.
// Every scalar of requests and responses (strings, numbers, booleans) is
// HMAC'd with the audit key in vault-crypto, and the log keeps nothing while
// the vault is sealed (its keys are not there to hash with), as in Vault,
// whose audit devices run only unsealed.

// AuditEntry is a request, or a request's response.
type AuditEntry struct {
	Time     string         `json:"time"`
	Type     string         `json:"type"`
	Auth     map[string]any `json:"auth,omitempty"`
	Request  map[string]any `json:"request"`
	Response map[string]any `json:"response,omitempty"`
}

type audit struct {
	db     *surreal.Client
	crypto *keeper.Client
	log    *auditlog.Appender
	anchor *auditlog.Client
	// devices is the set of devices the lanes were written for: enabling or
	// disabling one starts new lanes.
	mu    sync.Mutex
	lanes string
}

// follow starts new lanes when the enabled devices are not those the lanes
// were written for.
func (a *audit) follow(devices []auditDevice) {
	paths := make([]string, len(devices))
	for i, d := range devices {
		paths[i] = d.Path
	}
	sort.Strings(paths)
	set := strings.Join(paths, "\n")
	a.mu.Lock()
	defer a.mu.Unlock()
	if set != a.lanes {
		a.lanes = set
		a.log.Reset()
	}
}

type auditDevice struct {
	Path        string `json:"path"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

func (a *audit) devices(ctx context.Context) ([]auditDevice, error) {
	list, err := surreal.Query[[]auditDevice](ctx, a.db, "SELECT path, type, description FROM audit_device", nil)
	if err != nil {
		return nil, fmt.Errorf("audit devices: %w", err)
	}
	return list, nil
}

func (a *audit) enable(ctx context.Context, path string, d auditDevice) error {
	if d.Type != "surrealdb" {
		return badRequest("unknown audit device type %q: this vault writes its hash-chained log to SurrealDB (type \"surrealdb\")", d.Type)
	}
	d.Path = strings.Trim(path, "/") + "/"
	_, err := surreal.Query[any](ctx, a.db, "UPSERT $id CONTENT $d", map[string]any{"id": recordID("audit_device", d.Path), "d": d})
	return err
}

// verify asks vault-audit to verify the log against its latest checkpoint.
func (a *audit) verify(ctx context.Context) (auditlog.Report, error) {
	rep, err := a.anchor.Verify(ctx)
	if err != nil {
		return auditlog.Report{}, apiError(err)
	}
	return rep, nil
}

func (a *audit) disable(ctx context.Context, path string) error {
	_, err := surreal.Query[any](ctx, a.db, "DELETE $id", map[string]any{"id": recordID("audit_device", strings.Trim(path, "/")+"/")})
	return err
}

// auditWrap logs each request before it acts and its response before it is
// answered, while an audit device is enabled and the vault is unsealed. A
// request that cannot be logged is refused and does nothing; a response that
// cannot be logged is not answered. The unauthenticated status endpoints are
// not logged (a flood of them must not crowd the log).
func (s *Server) auditWrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap, err := s.loadSnapshot(r.Context())
		if err != nil {
			s.opts.WriteError(w, r, err)
			return
		}
		ctx := withSnapshot(r.Context(), snap)
		r = r.WithContext(ctx)
		s.audit.follow(snap.Devices)
		if len(snap.Devices) == 0 || !snap.Seal.Unsealed || statusEndpoint(r) {
			next.ServeHTTP(w, r)
			return
		}
		var body []byte
		if !isSnapshotPath(strings.TrimPrefix(r.URL.Path, "/v1/sys/")) {
			if body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, httpapi.DefaultMaxBody)); err != nil {
				s.opts.WriteError(w, r, httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body too large"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if err := s.audit.record(ctx, r, body, nil); err != nil {
			obs.Log(ctx).Error("audit failed; request refused before it acted", "err", err)
			s.opts.WriteError(w, r, auditError(err))
			return
		}
		if r.Method == http.MethodGet && isSnapshotPath(strings.TrimPrefix(r.URL.Path, "/v1/sys/")) {
			s.auditStreamed(w, r, next)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if err := s.audit.record(ctx, r, nil, rec); err != nil {
			obs.Log(ctx).Error("audit of a response failed; response withheld", "err", err)
			s.opts.WriteError(w, r, auditError(err))
			return
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// statusEndpoint is a request to an unauthenticated status endpoint.
func statusEndpoint(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/leader", "/v1/sys/init":
		return true
	}
	return false
}

// auditError is the answer to a request whose audit failed: 503 if the vault
// sealed or SurrealDB is unreachable, else 500.
func auditError(err error) error {
	switch {
	case errors.As(err, new(keeper.SealedError)):
		return errSealed
	case errors.Is(err, surreal.ErrUnavailable):
		return err
	}
	return httpapi.Errorf(http.StatusInternalServerError, "audit_failed", "the request could not be audited, so it was refused")
}

// auditStreamed serves a snapshot save without holding the snapshot in
// memory: its request was logged before it acted; its response entry (the
// status, not the snapshot) is logged before the first byte is written, and
// if it cannot be, the response is an error and no snapshot is served.
func (s *Server) auditStreamed(w http.ResponseWriter, r *http.Request, next http.Handler) {
	next.ServeHTTP(&auditedWriter{ResponseWriter: w, audit: func(code int) error {
		rec := httptest.NewRecorder()
		rec.Code = code
		err := s.audit.record(r.Context(), r, nil, rec)
		if err != nil {
			obs.Log(r.Context()).Error("audit of a snapshot response failed; snapshot withheld", "err", err)
			s.opts.WriteError(w, r, auditError(err))
		}
		return err
	}}, r)
}

// errResponseWithheld is what a streamed response's writes return once its
// audit failed (its error response was written instead).
var errResponseWithheld = errors.New("response withheld: its audit entry could not be written")

// auditedWriter logs a streamed response's status before any of it is written.
type auditedWriter struct {
	http.ResponseWriter
	audit   func(code int) error
	written bool
	failed  bool
}

func (a *auditedWriter) WriteHeader(code int) {
	if a.written {
		return
	}
	a.written = true
	if a.audit(code) != nil {
		a.failed = true
		return
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *auditedWriter) Write(p []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	if a.failed {
		return 0, errResponseWithheld
	}
	return a.ResponseWriter.Write(p)
}

// record logs a request (rec nil: before it acts, with its body) or its
// response (with the response's body), every scalar HMAC'd.
func (a *audit) record(ctx context.Context, r *http.Request, body []byte, rec *httptest.ResponseRecorder) error {
	var data any
	if rec != nil {
		body = rec.Body.Bytes()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&data)
	var values []string
	collectScalars(data, &values)
	token := requestToken(r)
	if token != "" {
		values = append(values, token)
	}
	hashes, key, err := a.crypto.AuditHMACAndChainKey(ctx, values)
	if err != nil {
		return err
	}
	i := 0
	data = replaceScalars(data, hashes, &i)
	e := AuditEntry{Time: vaultTime(time.Now()), Type: "request",
		Request: map[string]any{"id": obs.RequestID(ctx), "operation": capabilityOf(r),
			"method": r.Method, "path": strings.TrimPrefix(r.URL.Path, "/v1/"), "remote_address": r.RemoteAddr}}
	if rec == nil {
		e.Request["data"] = data
	} else {
		e.Type, e.Response = "response", map[string]any{"status": rec.Code, "data": data}
	}
	if token != "" {
		e.Auth = map[string]any{"client_token": hashes[i]}
	}
	raw, err := json.Marshal(e) // map keys are sorted: the encoding is canonical
	if err != nil {
		return err
	}
	return a.log.Append(ctx, key, raw)
}

// collectScalars lists the scalar values of v (strings, numbers, booleans)
// as text, in a stable order; null stays as it is.
func collectScalars(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case json.Number:
		*out = append(*out, x.String())
	case bool:
		*out = append(*out, strconv.FormatBool(x))
	case []any:
		for _, e := range x {
			collectScalars(e, out)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			collectScalars(x[k], out)
		}
	}
}

// replaceScalars puts hashes in place of the scalars, in collectScalars' order.
func replaceScalars(v any, hashes []string, i *int) any {
	switch x := v.(type) {
	case string, json.Number, bool:
		h := hashes[*i]
		*i++
		return h
	case []any:
		for j := range x {
			x[j] = replaceScalars(x[j], hashes, i)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			x[k] = replaceScalars(x[k], hashes, i)
		}
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
