package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// The audit log is a hash chain in SurrealDB: entry n stores the SHA-256 of
// (hash of entry n-1 || its canonical JSON), and audit:head names the last one,
// updated in the same transaction. Editing or removing any entry, or the tail,
// breaks the chain (VerifyAudit). Every string value of requests and responses
// is HMAC'd with the audit key in vault-crypto, as Vault's audit devices do.

// genesis is the "previous hash" of the first entry.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

var auditHead = recordID("audit", "head")

// AuditEntry is one request and its response.
type AuditEntry struct {
	Time     string         `json:"time"`
	Type     string         `json:"type"`
	Auth     map[string]any `json:"auth,omitempty"`
	Request  map[string]any `json:"request"`
	Response map[string]any `json:"response"`
}

type auditRow struct {
	Seq   int    `json:"seq"`
	Prev  string `json:"prev"`
	Hash  string `json:"hash"`
	Entry string `json:"entry"`
}

type audit struct {
	db     *surreal.Client
	crypto *keeper.Client
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

func (a *audit) disable(ctx context.Context, path string) error {
	_, err := surreal.Query[any](ctx, a.db, "DELETE $id", map[string]any{"id": recordID("audit_device", strings.Trim(path, "/")+"/")})
	return err
}

// chainHash is the hash of an entry given its predecessor's.
func chainHash(prev string, entry []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(entry)
	return hex.EncodeToString(h.Sum(nil))
}

// append adds an entry at the end of the chain; a concurrent append makes
// one of the two transactions fail, and it retries on the new head.
func (a *audit) append(ctx context.Context, e AuditEntry) error {
	raw, err := json.Marshal(e) // map keys are sorted: the encoding is canonical
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 20; attempt++ {
		head, err := surreal.Query[*auditRow](ctx, a.db, "SELECT seq, hash FROM ONLY $head", map[string]any{"head": auditHead})
		if err != nil {
			return fmt.Errorf("audit head: %w", err)
		}
		seq, prev := 1, genesis
		if head != nil {
			seq, prev = head.Seq+1, head.Hash
		}
		hash := chainHash(prev, raw)
		_, err = surreal.Query[any](ctx, a.db, `BEGIN TRANSACTION;
CREATE $id CONTENT { seq: $seq, prev: $prev, hash: $hash, entry: $entry };
IF $prevseq = 0 { CREATE $head CONTENT { seq: $seq, hash: $hash } }
ELSE IF array::len((UPDATE $head SET seq = $seq, hash = $hash WHERE seq = $prevseq)) = 0 { THROW 'audit conflict' };
COMMIT TRANSACTION;`, map[string]any{"id": recordID("audit_log", fmt.Sprintf("%012d", seq)), "seq": seq, "prev": prev,
			"hash": hash, "entry": string(raw), "head": auditHead, "prevseq": seq - 1})
		if err == nil {
			return nil
		}
		var qe *surreal.QueryError
		if !errors.As(err, &qe) || !(strings.Contains(qe.Message, "already exists") || strings.Contains(qe.Message, "audit conflict")) {
			return fmt.Errorf("audit append: %w", err)
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return errors.New("audit append: too much contention")
}

// AuditReport is the result of verifying the chain.
type AuditReport struct {
	Entries int    `json:"entries"`
	Valid   bool   `json:"valid"`
	Problem string `json:"problem,omitempty"`
}

// VerifyAudit walks the chain from the first entry to the head and reports the
// first entry that was edited, removed or added out of order.
func VerifyAudit(ctx context.Context, db *surreal.Client) (AuditReport, error) {
	rows, err := surreal.Query[[]auditRow](ctx, db, "SELECT seq, prev, hash, entry FROM audit_log ORDER BY seq", nil)
	if err != nil {
		return AuditReport{}, fmt.Errorf("read audit log: %w", err)
	}
	head, err := surreal.Query[*auditRow](ctx, db, "SELECT seq, hash FROM ONLY $head", map[string]any{"head": auditHead})
	if err != nil {
		return AuditReport{}, fmt.Errorf("read audit head: %w", err)
	}
	rep := AuditReport{Entries: len(rows), Valid: true}
	fail := func(format string, args ...any) (AuditReport, error) {
		rep.Valid, rep.Problem = false, fmt.Sprintf(format, args...)
		return rep, nil
	}
	prev := genesis
	for i, r := range rows {
		switch {
		case r.Seq != i+1:
			return fail("entry %d is missing (found %d in its place)", i+1, r.Seq)
		case r.Prev != prev:
			return fail("entry %d does not follow entry %d", r.Seq, r.Seq-1)
		case chainHash(prev, []byte(r.Entry)) != r.Hash:
			return fail("entry %d was modified", r.Seq)
		}
		prev = r.Hash
	}
	switch {
	case head == nil && len(rows) > 0:
		return fail("the chain head is missing")
	case head != nil && (head.Seq != len(rows) || head.Hash != prev):
		return fail("entries after %d were removed (the head is at %d)", len(rows), head.Seq)
	}
	return rep, nil
}

// auditWrap records each request and response while an audit device is enabled.
// A request that cannot be audited fails, as in Vault: nothing happens unlogged.
func (s *Server) auditWrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap, err := s.loadSnapshot(r.Context())
		if err != nil {
			s.opts.WriteError(w, r, err)
			return
		}
		ctx := withSnapshot(r.Context(), snap)
		r = r.WithContext(ctx)
		if len(snap.Devices) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if isSnapshotPath(strings.TrimPrefix(r.URL.Path, "/v1/sys/")) {
			s.auditStreamed(w, r, next)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, httpapi.DefaultMaxBody))
		if err != nil {
			s.opts.WriteError(w, r, httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body too large"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		entry, err := s.auditEntry(ctx, r, body, rec)
		if err == nil {
			err = s.audit.append(ctx, entry)
		}
		if err != nil {
			obs.Log(ctx).Error("audit failed; request refused", "err", err)
			s.opts.WriteError(w, r, apiError(err))
			return
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// auditStreamed serves a snapshot save or restore without holding the
// snapshot in memory: its entry records the request and the status, not the
// snapshot, once the request is done.
func (s *Server) auditStreamed(w http.ResponseWriter, r *http.Request, next http.Handler) {
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	next.ServeHTTP(sw, r)
	rec := httptest.NewRecorder()
	rec.Code = sw.code
	entry, err := s.auditEntry(r.Context(), r, nil, rec)
	if err == nil {
		err = s.audit.append(r.Context(), entry)
	}
	if err != nil {
		obs.Log(r.Context()).Error("audit of a snapshot request failed after it was served", "err", err)
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *Server) auditEntry(ctx context.Context, r *http.Request, body []byte, rec *httptest.ResponseRecorder) (AuditEntry, error) {
	var reqData, resData any
	_ = json.Unmarshal(body, &reqData)
	_ = json.Unmarshal(rec.Body.Bytes(), &resData)
	var values []string
	collectStrings(reqData, &values)
	collectStrings(resData, &values)
	token := requestToken(r)
	if token != "" {
		values = append(values, token)
	}
	hashes, err := s.crypto.AuditHMAC(ctx, values)
	if err != nil && !errors.As(err, new(keeper.SealedError)) {
		return AuditEntry{}, err
	}
	if err != nil { // sealed: nothing secret can be in the exchange; hash with SHA-256 instead
		hashes = make([]string, len(values))
		for i, v := range values {
			sum := sha256.Sum256([]byte(v))
			hashes[i] = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	i := 0
	reqData = replaceStrings(reqData, hashes, &i)
	resData = replaceStrings(resData, hashes, &i)
	e := AuditEntry{Time: vaultTime(time.Now()), Type: "request-response",
		Request: map[string]any{"id": obs.RequestID(ctx), "operation": capabilityOf(r),
			"method": r.Method, "path": strings.TrimPrefix(r.URL.Path, "/v1/"), "remote_address": r.RemoteAddr, "data": reqData},
		Response: map[string]any{"status": rec.Code, "data": resData}}
	if token != "" {
		e.Auth = map[string]any{"client_token": hashes[i]}
	}
	return e, nil
}

// collectStrings lists the string values of v in a stable order.
func collectStrings(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case []any:
		for _, e := range x {
			collectStrings(e, out)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			collectStrings(x[k], out)
		}
	}
}

// replaceStrings puts hashes in place of the strings, in collectStrings' order.
func replaceStrings(v any, hashes []string, i *int) any {
	switch x := v.(type) {
	case string:
		h := hashes[*i]
		*i++
		return h
	case []any:
		for j := range x {
			x[j] = replaceStrings(x[j], hashes, i)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			x[k] = replaceStrings(x[k], hashes, i)
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
