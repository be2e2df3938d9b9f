package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/cryptofn"
	"github.com/stratumiops/stratumiops/shared/vault/database"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/leases"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// testVault is an initialised, unsealed vault with a KV v2 mount, served by
// the same handlers as vault-sys and vault-secrets; instance builds another
// instance of them over the same database and vault-crypto.
type testVault struct {
	h        http.Handler
	root     string
	db       *surreal.Client
	instance func() http.Handler
	share    string         // the one unseal key (hex)
	st       *storage.Store // the vault's storage, beside the API
}

func newTestVault(t testing.TB) testVault {
	t.Helper()
	ctx := context.Background()
	kms, err := localkms.Start(ctx, localkms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kms.Close)
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("fuzz_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	wrapper, err := cryptofn.NewKMS(ctx, localkms.UnsealKeyAlias, kms.URL())
	if err != nil {
		t.Fatal(err)
	}
	inv := invoke.NewLocal()
	inv.Register(CryptoFunction, cryptofn.NewHandler(db, wrapper))
	crypto := &keeper.Client{Invoker: inv, Function: CryptoFunction}
	st := &storage.Store{DB: db, Crypto: crypto}
	inv.Register(leases.Function, database.New(db, st, &integrity.Keys{Crypto: crypto}).Handler(slog.Default()))
	instance := func() http.Handler {
		s, err := NewServer(db, inv)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/v1/sys/", s.SysHandler())
		mux.Handle("/v1/", s.SecretsHandler())
		return httpapi.Options{Errors: WriteError}.Middleware(mux)
	}
	v := testVault{h: instance(), db: db, instance: instance, st: st}
	var init struct {
		Keys      []string `json:"keys"`
		RootToken string   `json:"root_token"`
	}
	_ = json.Unmarshal(call(v.h, "PUT", "/v1/sys/init", "", `{"secret_shares":1,"secret_threshold":1}`).Body.Bytes(), &init)
	call(v.h, "PUT", "/v1/sys/unseal", "", `{"key":"`+init.Keys[0]+`"}`)
	v.root, v.share = init.RootToken, init.Keys[0]
	if rec := call(v.h, "POST", "/v1/sys/mounts/secret", v.root, `{"type":"kv","options":{"version":"2"}}`); rec.Code != 204 {
		t.Fatalf("mount: %d %s", rec.Code, rec.Body)
	}
	return v
}

// call sends one request to h with token.
func call(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Vault-Token", token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Whatever the method, path, body and token, the vault answers with a status
// that is not a 5xx (it is up and unsealed) and a JSON body, and never panics.
func FuzzRouter(f *testing.F) {
	for _, seed := range []struct{ method, path, body string }{
		{"GET", "/v1/secret/data/a", ""},
		{"POST", "/v1/secret/data/a/b", `{"data":{"k":"v"},"options":{"cas":0}}`},
		{"LIST", "/v1/secret/metadata/", ""},
		{"POST", "/v1/secret/destroy/a", `{"versions":[1,-1,99999999999]}`},
		{"GET", "/v1/secret/data/a?version=-3", ""},
		{"PUT", "/v1/sys/policies/cedar/x", `{"policy":"permit(principal,action,resource);"}`},
		{"POST", "/v1/auth/token/create", `{"ttl":"-5s","num_uses":-1}`},
		{"DELETE", "/v1/sys/mounts/../../x", ""},
		{"GET", "/v1/sys/health?sealedcode=abc", ""},
		{"POST", "/v1/secret/config", `{"max_versions":"many"}`},
	} {
		f.Add(seed.method, seed.path, seed.body, true)
	}
	v := newTestVault(f)
	h, root := v.h, v.root
	f.Fuzz(func(t *testing.T, method, path, body string, withRoot bool) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(method, " \t\r\n") || method == "" || strings.Contains(path, "sys/seal") {
			return // not an HTTP request line; and sealing would end the run
		}
		req, err := http.NewRequest(method, "http://vault"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if withRoot {
			req.Header.Set("X-Vault-Token", root)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusNoContent && rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, rec.Body)
		}
	})
}
