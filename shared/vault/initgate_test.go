package vault

import (
	"context"
	"encoding/json"
	"fmt"
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
)

// uninitialisedSys is vault-sys over a fresh database and a real
// vault-crypto (local KMS), gated with token when gate is set.
func uninitialisedSys(t *testing.T, gate bool, token string) http.Handler {
	t.Helper()
	ctx := context.Background()
	kms, err := localkms.Start(ctx, localkms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kms.Close)
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("initgate_%d", time.Now().UnixNano())}, nil)
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
	s, err := NewServer(db, inv)
	if err != nil {
		t.Fatal(err)
	}
	if gate {
		s.GateInit(token)
	}
	return httpapi.Options{Errors: WriteError}.Middleware(s.SysHandler())
}

func initWith(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("PUT", "/v1/sys/init", strings.NewReader(`{"secret_shares":1,"secret_threshold":1}`))
	if token != "" {
		req.Header.Set(InitTokenHeader, token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func initialized(t *testing.T, h http.Handler) bool {
	t.Helper()
	var st struct{ Initialized bool }
	rec := call(h, "GET", "/v1/sys/init", "", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 200 {
		t.Fatalf("GET sys/init: %d %s", rec.Code, rec.Body)
	}
	return st.Initialized
}

// Deployed (gated), sys/init refuses whoever lacks the deployment's init
// token and leaves the vault uninitialised; with it, the vault initialises.
func TestInitGateRefusesCallersWithoutTheToken(t *testing.T) {
	h := uninitialisedSys(t, true, "the-deploys-token")
	for _, token := range []string{"", "a-guess", "the-deploys-token-and-more"} {
		rec := initWith(h, token)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), InitTokenHeader) {
			t.Fatalf("init with token %q: %d %s, want 403 naming %s", token, rec.Code, rec.Body, InitTokenHeader)
		}
		if initialized(t, h) {
			t.Fatalf("init with token %q initialised the vault", token)
		}
	}
	rec := initWith(h, "the-deploys-token")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"root_token"`) {
		t.Fatalf("init with the token: %d %s", rec.Code, rec.Body)
	}
	if !initialized(t, h) {
		t.Fatal("not initialised after an init with the token")
	}
}

// A gated deployment without a token (its secret unreadable) keeps sys/init
// closed; ungated (the devstack), the first caller initialises as before.
func TestInitGateFailsClosedAndIsOffByDefault(t *testing.T) {
	closed := uninitialisedSys(t, true, "")
	if rec := initWith(closed, ""); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "init token") {
		t.Fatalf("gated without a token: %d %s, want 503", rec.Code, rec.Body)
	}
	if initialized(t, closed) {
		t.Fatal("a gate without a token let init through")
	}
	open := uninitialisedSys(t, false, "")
	if rec := initWith(open, ""); rec.Code != http.StatusOK {
		t.Fatalf("ungated init: %d %s", rec.Code, rec.Body)
	}
}
