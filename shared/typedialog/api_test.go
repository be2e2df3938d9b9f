package typedialog

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/typedialog/contractfn"
	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
	"github.com/stratumiops/stratumiops/shared/typedialog/renderfn"
)

// formsAPI is typedialog-forms over a fresh store with API keys "admin"
// (scope forms), "ann" and "bob" (no scope); it reaches typedialog-render
// and typedialog-contract in-process, through the Invoke API's semantics.
func formsAPI(t testing.TB) http.Handler {
	t.Helper()
	return formsAPIOver(t, newStore(t))
}

// formsAPIOver is another instance of typedialog-forms over store.
func formsAPIOver(t testing.TB, store *Store) http.Handler {
	t.Helper()
	engine, err := authz.Load(schemas.Cedar, "cedar/typedialog")
	if err != nil {
		t.Fatal(err)
	}
	var keys []principal.APIKey
	for name, scopes := range map[string][]string{"admin": {"forms"}, "ann": {"demo"}, "bob": nil} {
		keys = append(keys, principal.APIKey{Name: name, KeySHA256: principal.HashKey(name), Scopes: scopes})
	}
	raw, _ := json.Marshal(keys)
	auth, err := principal.New(principal.Config{APIKeys: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	inv := invoke.NewLocal()
	inv.Register(remote.RenderFunction, renderfn.NewRenderer().Handle)
	inv.Register(remote.ContractFunction, contractfn.NewChecker().Handle)
	return httpapi.Options{}.Middleware(Spec.Handler(NewAPI(store, engine, auth, &remote.Client{Invoker: inv})))
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func call(t testing.TB, h http.Handler, key, method, target, body string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	a := answer{status: rec.Code, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func expect(t testing.TB, h http.Handler, key, method, target, body string, status int) answer {
	t.Helper()
	a := call(t, h, key, method, target, body)
	if a.status != status {
		t.Fatalf("%s %s %s: %d %s, want %d", key, method, target, a.status, a.raw, status)
	}
	return a
}

func example(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile("../../schemas/forms/examples/employee.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// exampleUpload is POST /forms as JSON: def with the example's output
// template (employee.tera), contract (employee.cue) and locales.
func exampleUpload(t testing.TB, def string, locales map[string]string) string {
	t.Helper()
	raw, _ := json.Marshal(FormUpload{Definition: def, Locales: locales, Template: exampleFile(t, "employee.tera"),
		Contract: exampleFile(t, "employee.cue")})
	return string(raw)
}

// exampleFile reads a file of the example form (schemas/forms/examples).
func exampleFile(t testing.TB, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../../schemas/forms/examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestFormsAPI(t *testing.T) {
	h := formsAPI(t)
	def := exampleUpload(t, example(t), nil)
	expect(t, h, "", "POST", "/forms", def, 401)
	expect(t, h, "ann", "POST", "/forms", def, 403)
	reg := expect(t, h, "admin", "POST", "/forms", def, 201)
	if reg.body["id"] != "example_form" || reg.body["version"] != "1.0.0" || len(reg.body["sections"].([]any)) != 2 || reg.body["template"] != "employee.tera" {
		t.Fatalf("registered %v", reg.body)
	}
	expect(t, h, "admin", "POST", "/forms", def, 201) // the same text again is harmless
	if a := expect(t, h, "admin", "POST", "/forms", exampleUpload(t, strings.Replace(example(t), "Example Form", "Other", 1), nil), 409); !strings.Contains(a.raw, "bump [form] version") {
		t.Fatal(a.raw)
	}
	bad := expect(t, h, "admin", "POST", "/forms", "[form]\nid = \"x\"\nversion = \"1\"\n[[sections]]\nid = \"s\"\n[[sections.fields]]\nid = \"a\"\ntype = \"slider\"\n[[sections.fields]]\nid = \"a\"\ntype = \"text\"\n", 400)
	if msg := bad.raw; !strings.Contains(msg, "form.toml:8:1: field \\\"a\\\": unknown field type") || !strings.Contains(msg, "form.toml:10:1: duplicate field id") {
		t.Fatalf("definition errors: %s", msg)
	}
	if list := expect(t, h, "bob", "GET", "/forms", "", 200); len(list.body["forms"].([]any)) != 1 {
		t.Fatalf("list %v", list.body)
	}
	expect(t, h, "bob", "GET", "/forms/example_form?version=1.0.0", "", 200)
	expect(t, h, "bob", "GET", "/forms/example_form?version=9", "", 404)
	expect(t, h, "bob", "GET", "/forms/nope", "", 404)
	expect(t, h, "bob", "GET", "/forms/example_form?lang=es", "", 400)

	// A session: engineering shows team_size; switching away hides it and drops it from the output.
	s := expect(t, h, "ann", "POST", "/forms/example_form/sessions", `{"answers":{"name":"Ada Lovelace","department":"engineering"}}`, 201)
	sid := s.body["id"].(string)
	if vis := s.body["visible"].([]any); len(vis) != 6 {
		t.Fatalf("visible %v", vis)
	}
	expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"agee":3}}`, 400)
	expect(t, h, "bob", "PATCH", "/sessions/"+sid, `{"answers":{"email":"x"}}`, 404) // not bob's session
	p := expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"email":"nope","team_size":"small"}}`, 200)
	if errs := p.body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["rule"] != "pattern" {
		t.Fatalf("errors %v", p.body)
	}
	if miss := p.body["missing"].([]any); len(miss) != 1 || miss[0] != "projects" {
		t.Fatalf("missing %v", p.body["missing"])
	}
	if a := expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 422); !strings.Contains(a.raw, "email: must match") {
		t.Fatal(a.raw)
	}
	p = expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"email":"ada@example.org","department":"design","projects":[{"project_name":"engine"}]}}`, 200)
	if strings.Contains(p.raw, `"visible":["name","email","department","team_size"`) {
		t.Fatalf("team_size still visible: %s", p.raw)
	}
	sub := expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 200)
	out := sub.body["output"].(string)
	if strings.Contains(out, "team_size") || !strings.Contains(out, `"department": "design"`) || len(sub.body["config_hash"].(string)) != 64 {
		t.Fatalf("submission %v", sub.body)
	}
	if sub.body["template"] != "employee.tera" || sub.body["templated"] != "# Ada Lovelace <ada@example.org>\ndepartment: design\nprojects:\n- engine\n\n" {
		t.Fatalf("template output %q", sub.body["templated"])
	}
	expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 409)
	expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"name":"Bob"}}`, 409)

	big := `{"answers":{"name":"` + strings.Repeat("a", 1<<20) + `"}}`
	expect(t, h, "ann", "PATCH", "/sessions/"+sid, big, 413)

	page := expect(t, h, "bob", "GET", "/forms/example_form/page", "", 200)
	for _, want := range []string{`data-id="team_size"`, `data-condition="{&#34;field&#34;:&#34;department&#34;,&#34;equals&#34;:&#34;engineering&#34;}"`, `data-repeatable="true" data-min="1" data-max="5"`, `class="td-add"`} {
		if !strings.Contains(page.raw, want) {
			t.Fatalf("page lacks %s", want)
		}
	}
}

// A session started on one instance is answered and submitted on another,
// which has not seen it or its form: it reads both, and still refuses
// another caller.
func TestSessionsAcrossInstances(t *testing.T) {
	store := newStore(t)
	one, two := formsAPIOver(t, store), formsAPIOver(t, store)
	expect(t, one, "admin", "POST", "/forms", exampleUpload(t, example(t), nil), 201)
	sid := expect(t, one, "ann", "POST", "/forms/example_form/sessions", `{"answers":{"name":"Ada Lovelace"}}`, 201).body["id"].(string)
	expect(t, two, "bob", "PATCH", "/sessions/"+sid, `{"answers":{"email":"bob@example.org"}}`, 404)
	expect(t, two, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"email":"ada@example.org","department":"design","projects":[{"project_name":"engine"}]}}`, 200)
	expect(t, two, "bob", "PATCH", "/sessions/"+sid, `{"answers":{"email":"bob@example.org"}}`, 404)
	expect(t, two, "ann", "PATCH", "/sessions/ses_000000000000000000000000", `{"answers":{"name":"Ada"}}`, 404)
	sub := expect(t, one, "ann", "POST", "/sessions/"+sid+"/submit", "", 200)
	if !strings.Contains(sub.body["output"].(string), `"email": "ada@example.org"`) {
		t.Fatalf("submitted %v", sub.body)
	}
	expect(t, two, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"name":"Bob"}}`, 409)
	expect(t, one, "ann", "POST", "/sessions/"+sid+"/submit", "", 409)
	// An instance that patched a session last submits from its own copy of
	// the answers; when another instance submitted the session meanwhile,
	// the copy is stale and the submission a 409, with one snapshot written.
	sid = expect(t, one, "ann", "POST", "/forms/example_form/sessions", `{"answers":{"name":"Ada Lovelace"}}`, 201).body["id"].(string)
	expect(t, one, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"email":"ada@example.org","department":"design","projects":[{"project_name":"engine"}]}}`, 200)
	expect(t, two, "ann", "POST", "/sessions/"+sid+"/submit", "", 200)
	if a := expect(t, one, "ann", "POST", "/sessions/"+sid+"/submit", "", 409); !strings.Contains(a.raw, "already submitted") {
		t.Fatalf("second submission: %s", a.raw)
	}
	expect(t, one, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"name":"Bob"}}`, 409)
}

// Two submissions of one session at once, from two instances that both
// keep its answers: one commits, the other is a 409.
func TestConcurrentSubmissions(t *testing.T) {
	store := newStore(t)
	one, two := formsAPIOver(t, store), formsAPIOver(t, store)
	expect(t, one, "admin", "POST", "/forms", exampleUpload(t, example(t), nil), 201)
	for range 4 {
		sid := expect(t, one, "ann", "POST", "/forms/example_form/sessions", `{"answers":{"name":"Ada Lovelace","email":"ada@example.org"}}`, 201).body["id"].(string)
		expect(t, two, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"department":"design","projects":[{"project_name":"engine"}]}}`, 200)
		expect(t, one, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"name":"Ada"}}`, 200)
		statuses := make(chan int, 2)
		for _, h := range []http.Handler{one, two} {
			go func() { statuses <- call(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "").status }()
		}
		if a, b := <-statuses, <-statuses; a+b != 200+409 {
			t.Fatalf("two submissions: %d and %d, want one 200 and one 409", a, b)
		}
		if snap, err := store.Snapshot(context.Background(), sid); err != nil || !strings.Contains(snap.Rendered, `"name": "Ada"`) || strings.Contains(snap.Rendered, "Lovelace") {
			t.Fatalf("snapshot %+v %v", snap, err)
		}
	}
}
