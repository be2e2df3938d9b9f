package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

// TestMain gives the tests a real SurrealDB and a local KMS (local-kms,
// reached through the AWS SDK as AWS KMS is).
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	u, stop, err := localsurreal.ForTests()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start surrealdb:", err)
		return 1
	}
	defer stop()
	surrealURL = u
	kms, err := localkms.Start(context.Background(), localkms.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local-kms:", err)
		return 1
	}
	defer kms.Close()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_KMS": kms.URL(), "AWS_ACCESS_KEY_ID": "local",
		"AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"} {
		_ = os.Setenv(k, v)
	}
	return m.Run()
}

// env is a router and its API over a database of its own.
type env struct {
	t      testing.TB
	router *Router
	store  *Store
	srv    *httptest.Server
}

const (
	adminKey  = "admin-key-0123456789"
	readerKey = "reader-key-0123456789"
)

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("vapora_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/vapora"); err != nil {
		t.Fatal(err)
	}
	keys, err := NewKMSKeys(ctx, localkms.UnsealKeyAlias, "")
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(db)
	router := NewRouter(store, keys, NewCaller())
	engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
	if err != nil {
		t.Fatal(err)
	}
	apiKeys, _ := json.Marshal([]principal.APIKey{{Name: "admin", KeySHA256: principal.HashKey(adminKey), Scopes: []string{"llm"}},
		{Name: "reader", KeySHA256: principal.HashKey(readerKey), Scopes: []string{"demo"}}})
	auth, err := principal.New(principal.Config{APIKeys: string(apiKeys)})
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.Options{Function: "vapora-llm"}.Middleware(Spec.Handler(NewAPI(router, engine, auth)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, router: router, store: store, srv: srv}
}

// call sends a request with key and returns the status and the body.
func (e *env) call(key, method, path, body string, header ...string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("X-API-Key", key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// must expects status and decodes the body.
func (e *env) must(status int, method, path, body string) map[string]any {
	e.t.Helper()
	got, raw := e.call(adminKey, method, path, body)
	if got != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, got, raw, status)
	}
	out := map[string]any{}
	_ = json.Unmarshal([]byte(raw), &out)
	return out
}

// provider configures a provider at a local server through the API.
func (e *env) provider(name, kind, baseURL, key string, models map[string][2]int64) {
	e.t.Helper()
	m := map[string]any{}
	for model, p := range models {
		m[model] = map[string]any{"input_cents_per_mtok": p[0], "output_cents_per_mtok": p[1]}
	}
	body, _ := json.Marshal(map[string]any{"kind": kind, "base_url": baseURL, "api_key": key, "models": m, "timeout_ms": 500})
	e.must(200, "PUT", "/llm/providers/"+name, string(body))
}

func routeBody(role, taskType string) string {
	return fmt.Sprintf(`{"role":%q,"task_type":%q,"agent_id":"agent-1","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"write the code"}],"max_tokens":1000}`, role, taskType)
}
