package portfolio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/portfolio"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// build returns the named portfolio function, wrapped exactly as under Lambda,
// on a fresh migrated database.
func build(t *testing.T, name string) (function.Built, *surreal.Client) {
	t.Helper()
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: "portfolio"}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if err := function.Migrate(ctx, db, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	f, _ := catalog.Lookup(name)
	keys, _ := json.Marshal([]principal.APIKey{
		{Name: "acme", KeySHA256: principal.HashKey(keyAcme), Scopes: []string{"acme"}},
		{Name: "globex", KeySHA256: principal.HashKey(keyGlobex), Scopes: []string{"globex"}},
		{Name: "both", KeySHA256: principal.HashKey(keyBoth), Scopes: []string{"acme", "globex"}},
	})
	built, err := function.Build(ctx, f, portfolio.Functions()[name](), &function.Deps{Surreal: db,
		Vars: map[string]string{"API_KEYS": string(keys), "API_JWT_SECRET": jwtSecret}})
	if err != nil {
		t.Fatal(err)
	}
	return built, db
}

// API keys of the tests' callers, and the JWT secret.
const (
	keyAcme   = "k-acme"
	keyGlobex = "k-globex"
	keyBoth   = "k-both"
	jwtSecret = "portfolio-tests-jwt-secret-0123456789"
)

// call sends a request as the acme tenant.
func call(t *testing.T, h http.Handler, method, target, body string) (int, map[string]any, http.Header) {
	t.Helper()
	return callAs(t, h, "X-API-Key", keyAcme, method, target, body)
}

func callAs(t *testing.T, h http.Handler, header, value, method, target, body string) (int, map[string]any, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	h.ServeHTTP(rec, req)
	var out map[string]any
	raw, _ := io.ReadAll(rec.Body)
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		t.Fatalf("non-JSON body %q", raw)
	}
	return rec.Code, out, rec.Header()
}

func TestCreateGetList(t *testing.T) {
	built, _ := build(t, "portfolio-executions")
	h := built.HTTP
	project := "p-" + fmt.Sprint(time.Now().UnixNano())
	code, created, hdr := call(t, h, "POST", "/executions",
		`{"project":"`+project+`","source":"vapora","task_type":"code_review","agent_id":"a1","status":"success","duration_ms":1200,"metadata":{"tokens":42}}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	if hdr.Get("Location") != "/executions/"+id {
		t.Errorf("Location %q", hdr.Get("Location"))
	}
	code, got, _ := call(t, h, "GET", "/executions/"+id, "")
	if code != 200 || got["project"] != project || got["agent_id"] != "a1" || got["duration_ms"] != float64(1200) ||
		got["metadata"].(map[string]any)["tokens"] != float64(42) || got["created_at"] == "" {
		t.Fatalf("get: %d %v", code, got)
	}
	for i := range 4 {
		src := "kogral"
		if i%2 == 0 {
			src = "provisioning"
		}
		call(t, h, "POST", "/executions", fmt.Sprintf(`{"project":%q,"source":%q,"task_type":"t","status":"ok","duration_ms":%d}`, project, src, i))
	}
	code, list, _ := call(t, h, "GET", "/executions?project="+project+"&source=provisioning", "")
	if code != 200 || len(list["executions"].([]any)) != 2 {
		t.Fatalf("filter by source: %d %v", code, list)
	}
	// Paging: 5 in the project, pages of 2, newest first, every record once.
	seen := map[string]bool{}
	cursor := ""
	var prev time.Time
	for page := 0; ; page++ {
		target := "/executions?limit=2&project=" + project
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		code, list, _ = call(t, h, "GET", target, "")
		if code != 200 {
			t.Fatalf("page %d: %d %v", page, code, list)
		}
		for _, e := range list["executions"].([]any) {
			m := e.(map[string]any)
			if seen[m["id"].(string)] {
				t.Fatalf("record %v on two pages", m["id"])
			}
			seen[m["id"].(string)] = true
			ts, _ := time.Parse(time.RFC3339Nano, m["created_at"].(string))
			if !prev.IsZero() && ts.After(prev) {
				t.Fatalf("not newest first: %s after %s", ts, prev)
			}
			prev = ts
		}
		next, _ := list["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d records, want 5", len(seen))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, list, _ = call(t, h, "GET", "/executions?project="+project+"&since="+future, "")
	if code != 200 || len(list["executions"].([]any)) != 0 {
		t.Fatalf("since in the future: %v", list)
	}
}

// Every caller authenticates, records only in a scope it holds, and reads
// only its scopes' executions: another tenant's is a 404, as a missing one.
func TestScopes(t *testing.T) {
	built, db := build(t, "portfolio-executions")
	h := built.HTTP
	project := "p-" + fmt.Sprint(time.Now().UnixNano())
	body := func(scope string) string {
		return fmt.Sprintf(`{"project":%q,"scope":%q,"source":"vapora","task_type":"t","status":"ok","duration_ms":1}`, project, scope)
	}
	before, _ := surreal.Query[int](context.Background(), db, "RETURN count(SELECT * FROM executions)", nil)
	for name, c := range map[string]struct {
		header, value, body string
		status              int
		want                string
	}{
		"no credentials":      {"", "", body("acme"), 401, "missing credentials"},
		"unknown key":         {"X-API-Key", "k-nobody", body("acme"), 401, "unknown API key"},
		"another's scope":     {"X-API-Key", keyGlobex, body("acme"), 403, `scope "acme"`},
		"several, none named": {"X-API-Key", keyBoth, body(""), 400, `"scope": required`},
		"kogral's token":      {"Authorization", "Bearer " + token(t, "kogral", "acme"), body("acme"), 401, "invalid token"},
	} {
		code, out, _ := callAs(t, h, c.header, c.value, "POST", "/executions", c.body)
		if msg := fmt.Sprint(out["error"]); code != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", name, code, msg, c.status, c.want)
		}
	}
	if after, _ := surreal.Query[int](context.Background(), db, "RETURN count(SELECT * FROM executions)", nil); after != before {
		t.Fatalf("refused writes stored %d records", after-before)
	}
	code, acme, _ := call(t, h, "POST", "/executions", body("")) // the caller's only scope
	if code != 201 || acme["scope"] != "acme" {
		t.Fatalf("acme: %d %v", code, acme)
	}
	code, globex, _ := callAs(t, h, "Authorization", "Bearer "+token(t, "portfolio", "globex"), "POST", "/executions", body("globex"))
	if code != 201 {
		t.Fatalf("globex: %d %v", code, globex)
	}
	ids := func(header, value string) []string {
		code, list, _ := callAs(t, h, header, value, "GET", "/executions?project="+project, "")
		if code != 200 {
			t.Fatalf("list: %d %v", code, list)
		}
		var out []string
		for _, e := range list["executions"].([]any) {
			out = append(out, e.(map[string]any)["scope"].(string))
		}
		return out
	}
	if got := ids("X-API-Key", keyAcme); len(got) != 1 || got[0] != "acme" {
		t.Errorf("acme lists %v", got)
	}
	if got := ids("X-API-Key", keyGlobex); len(got) != 1 || got[0] != "globex" {
		t.Errorf("globex lists %v", got)
	}
	if got := ids("X-API-Key", keyBoth); len(got) != 2 {
		t.Errorf("both list %v", got)
	}
	if code, _, _ := callAs(t, h, "X-API-Key", keyGlobex, "GET", "/executions/"+acme["id"].(string), ""); code != 404 {
		t.Errorf("globex reads acme's execution: %d", code)
	}
	if code, _, _ := callAs(t, h, "", "", "GET", "/executions?project="+project, ""); code != 401 {
		t.Errorf("anonymous list: %d", code)
	}
}

// token is a JWT minted for system with scopes.
func token(t *testing.T, system string, scopes ...string) string {
	t.Helper()
	a, err := principal.New(principal.Config{JWTSecret: jwtSecret}.ForSystem(system))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Issue("tester", scopes, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestBadInput(t *testing.T) {
	built, db := build(t, "portfolio-executions")
	h := built.HTTP
	before, _ := surreal.Query[int](context.Background(), db, "RETURN count(SELECT * FROM executions)", nil)
	cases := []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"POST", "/executions", `{"project":"p"`, 400, "malformed JSON"},
		{"POST", "/executions", `{"project":"p","source":"vapora","task_type":"t","status":"ok","duration_ms":1,"colour":1}`, 400, `unknown field "colour"`},
		{"POST", "/executions", `{"project":"p","source":"vapora","task_type":"t","status":"ok","duration_ms":"slow"}`, 400, `field "duration_ms": want integer`},
		{"POST", "/executions", `{"project":"p","source":"vapora","task_type":"t","status":"ok"}`, 400, `field "duration_ms" is required`},
		{"POST", "/executions", `{"project":"p","source":"Vapora!","task_type":"t","status":"ok","duration_ms":1}`, 400, `field "source"`},
		{"POST", "/executions", `{"project":"p","source":"vapora","task_type":"t","status":"ok","duration_ms":-5}`, 400, "negative"},
		{"POST", "/executions", `{"project":"p","source":"vapora","task_type":"t","status":"ok","duration_ms":1,"metadata":[1]}`, 400, `field "metadata": want object`},
		{"POST", "/executions", `{"project":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "exceeds"},
		{"GET", "/executions/nope-" + fmt.Sprint(time.Now().UnixNano()), "", 404, "not found"},
		{"GET", "/executions/bad%20id", "", 400, "malformed"},
		{"GET", "/executions?limit=0", "", 400, `"limit"`},
		{"GET", "/executions?limit=ten", "", 400, `"limit"`},
		{"GET", "/executions?since=yesterday", "", 400, "RFC 3339"},
		{"GET", "/executions?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "", 400, "before"},
		{"GET", "/executions?cursor=%%%", "", 400, "malformed query"},
		{"GET", "/executions?cursor=bm90LWEtY3Vyc29y", "", 400, "cursor"},
		{"GET", "/executions?projetc=x", "", 400, `unknown query parameter "projetc"`},
		{"DELETE", "/executions/x", "", 405, "not allowed"},
	}
	for _, tc := range cases {
		code, body, _ := call(t, h, tc.method, tc.target, tc.body)
		msg := ""
		if e, ok := body["error"].(map[string]any); ok {
			msg, _ = e["message"].(string)
		}
		if code != tc.status || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.method, tc.target, code, msg, tc.status, tc.want)
		}
	}
	after, _ := surreal.Query[int](context.Background(), db, "RETURN count(SELECT * FROM executions)", nil)
	if after != before {
		t.Fatalf("bad input changed data: %d → %d records", before, after)
	}
}

func delivery(t *testing.T, e any, attempt int) []byte {
	t.Helper()
	data, _ := json.Marshal(e)
	payload, _ := json.Marshal(bus.Delivery{Subject: events.SubjectExecutionRecorded, MsgID: "m", Data: data, Attempt: attempt})
	return payload
}

func TestConsumerIsIdempotentOnEventID(t *testing.T) {
	built, db := build(t, "portfolio-on-execution")
	raw, _ := os.ReadFile("../../events/testdata/portfolio.executions.recorded.json")
	var ev events.ExecutionRecorded
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev.ID = fmt.Sprintf("evt-%d", time.Now().UnixNano())
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 5 { // concurrent redeliveries of one event
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := built.Invoke(ctx, delivery(t, ev, 1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n, err := surreal.Query[int](ctx, db, "RETURN count(SELECT * FROM executions WHERE event_id = $id)", map[string]any{"id": ev.ID})
	if err != nil || n != 1 {
		t.Fatalf("%d records for one event (err %v)", n, err)
	}
	got, err := portfolio.NewStore(db).Get(ctx, ev.ID)
	if err != nil || got.Project != ev.Project || !got.CreatedAt.Equal(ev.OccurredAt) || *got.EventID != ev.ID {
		t.Fatalf("stored %+v, %v", got, err)
	}
}

func TestConsumerRejectsInvalidEventsPermanently(t *testing.T) {
	built, _ := build(t, "portfolio-on-execution")
	for name, payload := range map[string][]byte{
		"missing project": delivery(t, map[string]any{"id": "e1", "source": "vapora", "task_type": "t", "status": "ok", "duration_ms": 1, "occurred_at": "2026-01-01T00:00:00Z"}, 1),
		"unknown field":   delivery(t, map[string]any{"id": "e2", "bogus": true}, 1),
		"not a delivery":  []byte(`[1,2,3]`),
	} {
		_, err := built.Invoke(context.Background(), payload)
		if !bus.IsPermanent(err) {
			t.Errorf("%s: want permanent error, got %v", name, err)
		}
	}
}
