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
	return apifn.APISpec().Handler(apifn.New(apifn.NewAccess(kogral.NewTestStore(t), engine), auth, nil))
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
	must("acme", "POST", "/nodes", `{"id":"acme-secret","node_type":"note","title":"Payroll zebra","content":"salaries","graph_id":"acme.hr"}`, 201)
	must("acme", "POST", "/nodes", `{"id":"acme-plan","node_type":"note","title":"Plan","content":"x","graph_id":"acme"}`, 201)
	must("globex", "POST", "/nodes", `{"id":"globex-note","node_type":"note","title":"Globex zebra","content":"y","graph_id":"globex"}`, 201)
	must("admin", "POST", "/nodes", `{"id":"org-logging","node_type":"guideline","title":"Logging","content":"JSON logs","graph_id":"shared"}`, 201)
	must("acme", "POST", "/edges", `{"source":"acme-plan","target":"acme-secret","relation":"relates_to"}`, 201)
	must("acme", "POST", "/edges", `{"source":"acme-plan","target":"org-logging","relation":"relates_to"}`, 201)
	must("admin", "POST", "/edges", `{"source":"globex-note","target":"acme-plan","relation":"relates_to"}`, 201)

	// Writes outside one's scopes.
	for _, c := range []struct{ method, target, body string }{
		{"POST", "/nodes", `{"node_type":"note","title":"planted","graph_id":"acme"}`},
		{"POST", "/nodes", `{"node_type":"note","title":"default graph"}`},
		{"POST", "/nodes", `{"node_type":"guideline","title":"Ignore all reviews","graph_id":"shared"}`},
		{"POST", "/decisions", `{"title":"d","context":"c","decision":"d","consequences":"e","graph_id":"shared"}`},
		{"PUT", "/nodes/org-logging", `{"node_type":"guideline","title":"Logging","content":"anything goes"}`},
		{"DELETE", "/nodes/org-logging", ""},
		{"POST", "/edges", `{"source":"org-logging","target":"globex-note","relation":"relates_to"}`},
		{"POST", "/import", `{"nodes":[{"id":"org-logging","node_type":"Guideline","title":"Logging","content":"overwritten","graph_id":"globex"}],"edges":[]}`},
	} {
		if a := ask(t, h, "globex", c.method, c.target, c.body); a.status != 403 {
			t.Errorf("globex %s %s: %d %s, want 403", c.method, c.target, a.status, a.body)
		}
	}
	// Another tenant's nodes are not found, whatever the route.
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/nodes/acme-secret", ""},
		{"GET", "/nodes/acme-secret/blocks", ""},
		{"GET", "/nodes/acme-secret/edges", ""},
		{"GET", "/nodes/acme-secret/connected", ""},
		{"PUT", "/nodes/acme-secret", `{"node_type":"note","title":"mine now"}`},
		{"DELETE", "/nodes/acme-secret", ""},
		{"GET", "/path?from=globex-note&to=acme-secret", ""},
		{"POST", "/edges", `{"source":"globex-note","target":"acme-secret","relation":"relates_to"}`},
		{"GET", "/nodes?graph=acme.hr", ""},
		{"GET", "/search?q=zebra&graph=acme.hr", ""},
		{"GET", "/export?graph=acme.hr", ""},
		{"GET", "/graphs/acme/guidelines", ""},
		{"POST", "/import", `{"nodes":[{"id":"acme-secret","node_type":"Note","title":"overwritten","graph_id":"globex"}],"edges":[]}`},
		{"POST", "/import", `{"nodes":[],"edges":[{"source":"globex-note","target":"acme-secret","relation":"RelatesTo"}]}`},
	} {
		a := ask(t, h, "globex", c.method, c.target, c.body)
		if a.status != 404 && !(c.method == "POST" && c.target == "/import" && a.status == 403) {
			t.Errorf("globex %s %s: %d %s, want 404", c.method, c.target, a.status, a.body)
		}
	}
	// Nothing of acme's in globex's listings, searches, exports and traversals.
	for _, target := range []string{"/nodes", "/search?q=zebra", "/search?q=zebra&semantic=true", "/export", "/export?format=dot",
		"/graphs", "/nodes/globex-note/connected?depth=3", "/nodes/globex-note/edges"} {
		if body := must("globex", "GET", target, "", 200); strings.Contains(body, "acme") {
			t.Errorf("globex GET %s shows acme's: %s", target, body)
		}
	}
	if body := must("globex", "GET", "/search?q=zebra", "", 200); !strings.Contains(body, "globex-note") {
		t.Errorf("globex's own search: %s", body)
	}
	// acme sees its graphs and the shared one, and not globex's node on its edges.
	if body := must("acme", "GET", "/nodes/acme-plan/connected?depth=2", "", 200); !strings.Contains(body, "acme-secret") ||
		!strings.Contains(body, "org-logging") || strings.Contains(body, "globex") {
		t.Errorf("acme's connected: %s", body)
	}
	if body := must("acme", "GET", "/graphs/acme/guidelines", "", 200); !strings.Contains(body, "org-logging") {
		t.Errorf("acme's guidelines lack the shared one: %s", body)
	}
	if body := must("acme", "GET", "/nodes/org-logging", "", 200); !strings.Contains(body, "JSON logs") {
		t.Errorf("shared guideline after globex's attempts: %s", body)
	}
	must("acme", "GET", "/nodes/acme-secret", "", 200)
	if body := must("admin", "GET", "/export", "", 200); !strings.Contains(body, "acme-secret") || !strings.Contains(body, "globex-note") {
		t.Errorf("admin's export: %s", body)
	}
}
