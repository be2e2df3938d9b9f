package provisioning_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/provfn"
)

const testKey, prodKey, otherKey = "test-key", "prod-key", "other-key"

func api(t *testing.T, e env) http.Handler {
	t.Helper()
	keys, _ := json.Marshal([]principal.APIKey{{Name: "dev", KeySHA256: principal.HashKey(testKey), Scopes: []string{"demo"}},
		{Name: "ops", KeySHA256: principal.HashKey(prodKey), Scopes: []string{"demo", "production"}},
		{Name: "globex", KeySHA256: principal.HashKey(otherKey), Scopes: []string{"globex"}}})
	db := surreal.New(surreal.Config{URL: *provisioning.SurrealURLForTest, User: "root", Pass: "root",
		Namespace: surreal.Namespace, Database: "provisioning"}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = db.Close() })
	f, _ := catalog.Lookup("provisioning-workflows")
	b, err := function.Build(context.Background(), f, provfn.Functions()[f.Name](), &function.Deps{Surreal: db, Bus: e.bus,
		Log: slog.New(slog.DiscardHandler), Vars: map[string]string{"API_KEYS": string(keys), "API_JWT_SECRET": "s3cret-s3cret-s3cret-s3cret-s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	return b.HTTP
}

func do(t *testing.T, h http.Handler, key, method, target, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	return rec.Code, string(raw)
}

func doc(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	p := workflow(t, 1)
	raw, _ := json.Marshal(p.Workflow)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	edit(m)
	raw, _ = json.Marshal(m)
	return string(raw)
}

func TestAPISubmitPlanAndRefuse(t *testing.T) {
	e := setup(t)
	h := api(t, e)
	good := doc(t, func(map[string]any) {})
	if code, _ := do(t, h, "", "POST", "/workflows", good); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d", code)
	}
	code, body := do(t, h, testKey, "POST", "/workflows?dry_run=true", good)
	if code != 200 || !strings.Contains(body, `"waves":[["net"],["web","db"],["data"],["app"]]`) || strings.Contains(body, `"workflow":{`) {
		t.Fatalf("plan: %d %s", code, body)
	}
	var id struct{ ID string }
	_ = json.Unmarshal([]byte(good), &id)
	if code, _ := do(t, h, testKey, "GET", "/workflows/"+id.ID, ""); code != 404 {
		t.Fatalf("a dry run stored the workflow: %d", code)
	}
	code, body = do(t, h, testKey, "POST", "/workflows", good)
	if code != 201 || !strings.Contains(body, `"status":"Pending"`) {
		t.Fatalf("submit: %d %s", code, body)
	}
	if code, again := do(t, h, testKey, "POST", "/workflows", good); code != 200 || !strings.Contains(again, id.ID) {
		t.Fatalf("submit again: %d %s", code, again)
	}
	if code, body := do(t, h, testKey, "GET", "/workflows/"+id.ID, ""); code != 200 || !strings.Contains(body, `"task":"app"`) {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, body := do(t, h, testKey, "GET", "/workflows?status=Pending&limit=500", ""); code != 200 || !strings.Contains(body, id.ID) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := do(t, h, testKey, "POST", "/workflows/"+id.ID+"/resume", ""); code != 409 {
		t.Fatalf("resume of a pending workflow: %d %s", code, body)
	}
	if code, body := do(t, h, testKey, "POST", "/workflows/"+id.ID+"/cancel", ""); code != 202 || !strings.Contains(body, "Cancelling") {
		t.Fatalf("cancel: %d %s", code, body)
	}
	bad := map[string]struct {
		edit func(m map[string]any)
		want string
	}{
		"cycle": {func(m map[string]any) { m["tasks"].([]any)[0].(map[string]any)["depends_on"] = []string{"app"} },
			"cycle net → app → web → net"},
		"unknown provider": {func(m map[string]any) { m["tasks"].([]any)[1].(map[string]any)["provider"] = "gcp" },
			`task \"web\": provider: unknown provider \"gcp\"`},
		"unknown kind": {func(m map[string]any) { m["tasks"].([]any)[0].(map[string]any)["kind"] = "vpn" },
			`task \"net\": kind: unknown kind \"vpn\"`},
		"kind its provider does not make": {func(m map[string]any) { m["tasks"].([]any)[4].(map[string]any)["provider"] = "aws" },
			`task \"app\": kind: provider aws does not provision service`},
		"contract": {func(m map[string]any) { m["tasks"].([]any)[2].(map[string]any)["spec"] = map[string]any{"cpu": 0} },
			`task \"db\": spec.cpu: 0`},
	}
	for name, c := range bad {
		body := doc(t, c.edit)
		code, out := do(t, h, testKey, "POST", "/workflows", body)
		if code != 400 || !strings.Contains(out, c.want) {
			t.Fatalf("%s: %d %s", name, code, out)
		}
		var id struct{ ID string }
		_ = json.Unmarshal([]byte(body), &id)
		if code, _ := do(t, h, testKey, "GET", "/workflows/"+id.ID, ""); code != 404 {
			t.Fatalf("%s: a refused workflow was stored (%d)", name, code)
		}
	}
	prod := doc(t, func(m map[string]any) { m["environment"] = "production" })
	if code, _ := do(t, h, testKey, "POST", "/workflows", prod); code != 403 {
		t.Fatalf("production without the scope: %d", code)
	}
	if code, _ := do(t, h, prodKey, "POST", "/workflows", prod); code != 201 {
		t.Fatalf("production with the scope: %d", code)
	}
	_ = json.Unmarshal([]byte(prod), &id)
	if code, _ := do(t, h, testKey, "POST", "/workflows/"+id.ID+"/cancel", ""); code != 403 {
		t.Fatalf("cancel in production without the scope: %d", code)
	}
	if code, _ := do(t, h, prodKey, "POST", "/workflows/"+id.ID+"/cancel", ""); code != 202 {
		t.Fatalf("cancel in production with the scope: %d", code)
	}
}

// A workflow belongs to the scope it was submitted in: callers of other
// scopes do not see it (404, absent from lists) and cannot cancel or resume
// it, whatever its environment; a caller submits only into a scope it holds.
func TestAPIWorkflowsAreScoped(t *testing.T) {
	e := setup(t)
	h := api(t, e)
	good := doc(t, func(map[string]any) {})
	var id struct{ ID string }
	_ = json.Unmarshal([]byte(good), &id)
	if code, body := do(t, h, testKey, "POST", "/workflows", good); code != 201 || !strings.Contains(body, `"scope":"demo"`) {
		t.Fatalf("submit: %d %s", code, body)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/workflows/" + id.ID}, {"POST", "/workflows/" + id.ID + "/cancel"},
		{"POST", "/workflows/" + id.ID + "/resume"}} {
		if code, body := do(t, h, otherKey, c.method, c.path, ""); code != 404 {
			t.Fatalf("%s %s by another scope: %d %s", c.method, c.path, code, body)
		}
	}
	if code, body := do(t, h, otherKey, "GET", "/workflows?limit=500", ""); code != 200 || strings.Contains(body, id.ID) {
		t.Fatalf("another scope's list: %d %s", code, body)
	}
	if code, body := do(t, h, otherKey, "POST", "/workflows", good); code != 409 || strings.Contains(body, `"tasks"`) {
		t.Fatalf("another scope submits the same id: %d %s", code, body)
	}
	if code, body := do(t, h, testKey, "GET", "/workflows?limit=500", ""); code != 200 || !strings.Contains(body, id.ID) {
		t.Fatalf("own list: %d %s", code, body)
	}
	named := doc(t, func(m map[string]any) { m["scope"] = "globex" })
	if code, body := do(t, h, testKey, "POST", "/workflows", named); code != 403 || !strings.Contains(body, `scope \"globex\"`) {
		t.Fatalf("submit into a scope not held: %d %s", code, body)
	}
	dotted := doc(t, func(m map[string]any) { m["scope"] = "demo.web" })
	if code, body := do(t, h, testKey, "POST", "/workflows", dotted); code != 400 || !strings.Contains(body, "'.'") {
		t.Fatalf("submit into scope demo.web: %d %s", code, body)
	}
	if code, body := do(t, h, testKey, "POST", "/workflows/"+id.ID+"/cancel", ""); code != 202 {
		t.Fatalf("cancel by its scope: %d %s", code, body)
	}
}
