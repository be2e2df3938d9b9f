package kogral_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// accessAPI is kogral-api over a fresh store, with API keys "acme",
// "globex" (one scope each) and "admin" (kogral-admin).
func accessAPI(t *testing.T) http.Handler {
	t.Helper()
	return accessAPIOver(t, kogral.NewTestStore(t))
}

// accessAPIOver is accessAPI over the store s.
func accessAPIOver(t *testing.T, s *kogral.Store) http.Handler {
	t.Helper()
	engine, err := authz.Load(schemas.Cedar, "cedar/kogral")
	if err != nil {
		t.Fatal(err)
	}
	var keys []principal.APIKey
	for name, scope := range map[string]string{"acme": "acme", "globex": "globex", "admin": apifn.AdminScope} {
		keys = append(keys, principal.APIKey{Name: name, KeySHA256: principal.HashKey(name), Scopes: []string{scope}})
	}
	raw, _ := json.Marshal(keys)
	auth, err := principal.New(principal.Config{APIKeys: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	return apifn.APISpec().Handler(apifn.New(apifn.NewAccess(s, engine), auth, nil))
}

// A node stored before ids lay in their scope (a bare slug) is still
// reached through its stored graph: read by its scope, hidden from others.
func TestNodesMadeBeforeTheIDRuleStayReachable(t *testing.T) {
	s := kogral.NewTestStore(t)
	kogral.PutLegacyNode(t, s, "legacy-notes", "acme.brain", "Legacy notes")
	h := accessAPIOver(t, s)
	for _, c := range []struct {
		key, method, target string
		status              int
	}{{"acme", "GET", "/nodes/legacy-notes", 200}, {"globex", "GET", "/nodes/legacy-notes", 404},
		{"acme", "GET", "/nodes/legacy-notes/edges", 200}, {"globex", "DELETE", "/nodes/legacy-notes", 404},
		{"acme", "DELETE", "/nodes/legacy-notes", 204}, {"acme", "GET", "/nodes/legacy-notes", 404}} {
		if a := ask(t, h, c.key, c.method, c.target, ""); a.status != c.status {
			t.Fatalf("%s %s %s: %d %s, want %d", c.key, c.method, c.target, a.status, a.body, c.status)
		}
	}
}

type answer struct {
	status int
	body   string
}

func ask(t *testing.T, h http.Handler, key, method, target, body string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	return answer{rec.Code, string(raw)}
}

// A caller reads and writes only its scopes' graphs; another tenant's nodes
// do not exist for it, wherever it looks; only an admin writes "shared".
func TestAccessByScope(t *testing.T) {
	h := accessAPI(t)
	must := func(key, method, target, body string, status int) string {
		t.Helper()
		a := ask(t, h, key, method, target, body)
		if a.status != status {
			t.Fatalf("%s %s %s: %d %s, want %d", key, method, target, a.status, a.body, status)
		}
		return a.body
	}
	must("acme", "POST", "/nodes", `{"id":"acme.hr.secret","node_type":"note","title":"Payroll zebra","content":"salaries","graph_id":"acme.hr"}`, 201)
	must("acme", "POST", "/nodes", `{"id":"acme.plan","node_type":"note","title":"Plan","content":"x","graph_id":"acme"}`, 201)
	must("globex", "POST", "/nodes", `{"id":"globex.note","node_type":"note","title":"Globex zebra","content":"y","graph_id":"globex"}`, 201)
	must("admin", "POST", "/nodes", `{"id":"shared.logging","node_type":"guideline","title":"Logging","content":"JSON logs","graph_id":"shared"}`, 201)
	must("acme", "POST", "/edges", `{"source":"acme.plan","target":"acme.hr.secret","relation":"relates_to"}`, 201)
	must("acme", "POST", "/edges", `{"source":"acme.plan","target":"shared.logging","relation":"relates_to"}`, 201)
	must("admin", "POST", "/edges", `{"source":"globex.note","target":"acme.plan","relation":"relates_to"}`, 201)

	// Writes outside one's scopes.
	for _, c := range []struct{ method, target, body string }{
		{"POST", "/nodes", `{"node_type":"note","title":"planted","graph_id":"acme"}`},
		{"POST", "/nodes", `{"node_type":"note","title":"default graph"}`},
		{"POST", "/nodes", `{"node_type":"guideline","title":"Ignore all reviews","graph_id":"shared"}`},
		{"POST", "/decisions", `{"title":"d","context":"c","decision":"d","consequences":"e","graph_id":"shared"}`},
		{"PUT", "/nodes/shared.logging", `{"node_type":"guideline","title":"Logging","content":"anything goes"}`},
		{"DELETE", "/nodes/shared.logging", ""},
		{"POST", "/edges", `{"source":"shared.logging","target":"globex.note","relation":"relates_to"}`},
		{"POST", "/import", `{"nodes":[{"id":"shared.logging","node_type":"Guideline","title":"Logging","content":"overwritten","graph_id":"shared"}],"edges":[]}`},
	} {
		if a := ask(t, h, "globex", c.method, c.target, c.body); a.status != 403 {
			t.Errorf("globex %s %s: %d %s, want 403", c.method, c.target, a.status, a.body)
		}
	}
	// Another tenant's nodes are not found, whatever the route.
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/nodes/acme.hr.secret", ""},
		{"GET", "/nodes/acme.hr.secret/blocks", ""},
		{"GET", "/nodes/acme.hr.secret/edges", ""},
		{"GET", "/nodes/acme.hr.secret/connected", ""},
		{"PUT", "/nodes/acme.hr.secret", `{"node_type":"note","title":"mine now"}`},
		{"DELETE", "/nodes/acme.hr.secret", ""},
		{"GET", "/path?from=globex.note&to=acme.hr.secret", ""},
		{"POST", "/edges", `{"source":"globex.note","target":"acme.hr.secret","relation":"relates_to"}`},
		{"GET", "/nodes?graph=acme.hr", ""},
		{"GET", "/search?q=zebra&graph=acme.hr", ""},
		{"GET", "/export?graph=acme.hr", ""},
		{"GET", "/graphs/acme/guidelines", ""},
		{"POST", "/import", `{"nodes":[{"id":"acme.hr.secret","node_type":"Note","title":"overwritten","graph_id":"acme.hr"}],"edges":[]}`},
		{"POST", "/import", `{"nodes":[],"edges":[{"source":"globex.note","target":"acme.hr.secret","relation":"RelatesTo"}]}`},
	} {
		a := ask(t, h, "globex", c.method, c.target, c.body)
		if a.status != 404 && !(c.method == "POST" && c.target == "/import" && a.status == 403) {
			t.Errorf("globex %s %s: %d %s, want 404", c.method, c.target, a.status, a.body)
		}
	}
	// Nothing of acme's in globex's listings, searches, exports and traversals.
	for _, target := range []string{"/nodes", "/search?q=zebra", "/search?q=zebra&semantic=true", "/export", "/export?format=dot",
		"/graphs", "/nodes/globex.note/connected?depth=3", "/nodes/globex.note/edges"} {
		if body := must("globex", "GET", target, "", 200); strings.Contains(body, "acme") {
			t.Errorf("globex GET %s shows acme's: %s", target, body)
		}
	}
	if body := must("globex", "GET", "/search?q=zebra", "", 200); !strings.Contains(body, "globex.note") {
		t.Errorf("globex's own search: %s", body)
	}
	// acme sees its graphs and the shared one, and not globex's node on its edges.
	if body := must("acme", "GET", "/nodes/acme.plan/connected?depth=2", "", 200); !strings.Contains(body, "acme.hr.secret") ||
		!strings.Contains(body, "shared.logging") || strings.Contains(body, "globex") {
		t.Errorf("acme's connected: %s", body)
	}
	if body := must("acme", "GET", "/graphs/acme/guidelines", "", 200); !strings.Contains(body, "shared.logging") {
		t.Errorf("acme's guidelines lack the shared one: %s", body)
	}
	if body := must("acme", "GET", "/nodes/shared.logging", "", 200); !strings.Contains(body, "JSON logs") {
		t.Errorf("shared guideline after globex's attempts: %s", body)
	}
	must("acme", "GET", "/nodes/acme.hr.secret", "", 200)
	if body := must("admin", "GET", "/export", "", 200); !strings.Contains(body, "acme.hr.secret") || !strings.Contains(body, "globex.note") {
		t.Errorf("admin's export: %s", body)
	}
}

// Node ids are a namespace per scope: nobody creates or occupies an id of
// another scope, and for an id of a scope the caller may not read (404) or
// write (403) the answer does not depend on whether the node exists.
func TestNodeIDsBelongToTheirScope(t *testing.T) {
	h := accessAPI(t)
	must := func(key, method, target, body string, status int) string {
		t.Helper()
		a := ask(t, h, key, method, target, body)
		if a.status != status {
			t.Fatalf("%s %s %s %s: %d %s, want %d", key, method, target, body, a.status, a.body, status)
		}
		return a.body
	}
	must("acme", "POST", "/nodes", `{"id":"acme.plan","node_type":"note","title":"Plan","content":"x","graph_id":"acme"}`, 201)
	must("admin", "POST", "/nodes", `{"id":"shared.logging","node_type":"guideline","title":"Logging","content":"JSON","graph_id":"shared"}`, 201)

	// Another scope's ids are refused before anything is looked up, naming the rule.
	for _, c := range []struct{ target, body string }{
		{"/nodes", `{"id":"acme.kubernetes","node_type":"note","title":"K","graph_id":"globex"}`},
		{"/nodes", `{"id":"acme.plan","node_type":"note","title":"K","graph_id":"globex"}`},
		{"/nodes", `{"id":"kubernetes","node_type":"note","title":"K","graph_id":"globex"}`},
		{"/import", `{"nodes":[{"id":"acme.kubernetes","node_type":"Note","title":"K","graph_id":"globex"}]}`},
		{"/import", `{"nodes":[{"id":"acme.plan","node_type":"Note","title":"K","graph_id":"globex"}]}`},
	} {
		if body := must("globex", "POST", c.target, c.body, 400); !strings.Contains(body, `must begin with its graph's scope and a '.' (\"globex.\"`) {
			t.Errorf("globex POST %s %s: %s", c.target, c.body, body)
		}
	}
	// So the owner's import and creation of those ids go through.
	if body := must("acme", "POST", "/import", `{"nodes":[{"id":"acme.kubernetes","node_type":"Note","title":"K","graph_id":"acme.brain"}]}`, 200); !strings.Contains(body, `"nodes":1`) || strings.Contains(body, "conflicts") {
		t.Errorf("acme's import: %s", body)
	}
	must("acme", "POST", "/nodes", `{"id":"acme.squat","node_type":"note","title":"S","graph_id":"acme"}`, 201)

	// The same answer for an id that exists and one that does not.
	same := func(key, method, pattern, body string, status int) {
		t.Helper()
		var bodies []string
		for _, id := range []string{"plan", "nothing"} {
			target := strings.ReplaceAll(pattern, "ID", id)
			b := must(key, method, target, strings.ReplaceAll(body, "ID", id), status)
			bodies = append(bodies, strings.ReplaceAll(b, id, "ID"))
		}
		if bodies[0] != bodies[1] {
			t.Errorf("%s %s %s: %q for an existing node, %q for a missing one", key, method, pattern, bodies[0], bodies[1])
		}
	}
	same("globex", "GET", "/nodes/acme.ID", "", 404)
	same("globex", "PUT", "/nodes/acme.ID", `{"node_type":"note","title":"mine"}`, 404)
	same("globex", "DELETE", "/nodes/acme.ID", "", 404)
	same("globex", "GET", "/nodes/acme.ID/connected", "", 404)
	same("globex", "POST", "/edges", `{"source":"acme.ID","target":"shared.logging","relation":"relates_to"}`, 404)
	same("globex", "POST", "/import", `{"edges":[{"source":"acme.ID","target":"shared.logging","relation":"RelatesTo"}]}`, 404)
	must("globex", "POST", "/nodes", `{"id":"globex.plan","node_type":"note","title":"G","graph_id":"globex"}`, 201)
	same("globex", "POST", "/import", `{"edges":[{"source":"globex.plan","target":"acme.ID","relation":"RelatesTo"}]}`, 404)
	// The shared scope: readable, written by admins only.
	same("acme", "PUT", "/nodes/shared.ID", `{"node_type":"guideline","title":"mine"}`, 403)
	same("acme", "DELETE", "/nodes/shared.ID", "", 403)
	same("acme", "POST", "/edges", `{"source":"shared.ID","target":"acme.plan","relation":"relates_to"}`, 403)
	same("acme", "POST", "/import", `{"edges":[{"source":"shared.ID","target":"acme.plan","relation":"RelatesTo"}]}`, 403)

	// Ids the server makes lie in the graph's scope, so equal titles in two
	// scopes get the same slug each, without a suffix.
	for _, tenant := range []string{"acme", "globex"} {
		body := must(tenant, "POST", "/decisions", `{"title":"Use NATS","context":"c","decision":"d","consequences":"e","graph_id":"`+tenant+`.web"}`, 201)
		if !strings.Contains(body, `"id":"`+tenant+`.web.use-nats"`) {
			t.Errorf("%s's decision: %s", tenant, body)
		}
		body = must(tenant, "POST", "/nodes", `{"node_type":"note","title":"Kubernetes cluster","graph_id":"`+tenant+`"}`, 201)
		if !strings.Contains(body, `"id":"`+tenant+`.kubernetes-cluster"`) {
			t.Errorf("%s's node: %s", tenant, body)
		}
	}

	// A node stays in its graph: another graph_id is a 400, its own or none a 200.
	if body := must("acme", "PUT", "/nodes/acme.plan", `{"node_type":"note","title":"Plan","graph_id":"acme.hr"}`, 400); !strings.Contains(body, "moving a node between graphs is not supported") {
		t.Errorf("move: %s", body)
	}
	if body := must("acme", "PUT", "/nodes/acme.plan", `{"id":"acme.other","node_type":"note","title":"Plan"}`, 400); !strings.Contains(body, "keeps its id") {
		t.Errorf("rename: %s", body)
	}
	must("acme", "PUT", "/nodes/acme.plan", `{"node_type":"note","title":"Plan 2","graph_id":"acme"}`, 200)
	if body := must("acme", "GET", "/nodes/acme.plan", "", 200); !strings.Contains(body, `"graph_id":"acme"`) || !strings.Contains(body, "Plan 2") {
		t.Errorf("after the updates: %s", body)
	}
	// A malformed id is a 400 whoever asks.
	must("globex", "GET", "/nodes/Acme.Plan", "", 400)
}

// GET /export refuses, naming the export job, an answer that would pass
// the answer budget though its characters are few: content full of quotes
// doubles in JSON and again in the Lambda payload.
func TestExportAnswerMustFit(t *testing.T) {
	h := accessAPI(t)
	quotes := strings.Repeat(`"`, 900<<10)
	for _, id := range []string{"acme.q1", "acme.q2"} {
		body := `{"id":"` + id + `","node_type":"note","title":"Q","graph_id":"acme","content":"` + strings.ReplaceAll(quotes, `"`, `\"`) + `"}`
		if a := ask(t, h, "acme", "POST", "/nodes", body); a.status != 201 {
			t.Fatalf("create %s: %d %.200s", id, a.status, a.body)
		}
	}
	a := ask(t, h, "acme", "GET", "/export?graph=acme", "")
	if a.status != 422 || !strings.Contains(a.body, "POST /exports") {
		t.Fatalf("export of 1.8 MiB of quotes: %d %.300s", a.status, a.body)
	}
	if a := ask(t, h, "acme", "DELETE", "/nodes/acme.q2", ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := ask(t, h, "acme", "GET", "/export?graph=acme", ""); a.status != 200 {
		t.Fatalf("export of 0.9 MiB of quotes: %d %.300s", a.status, a.body)
	}
}
