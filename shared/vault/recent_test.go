package vault

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Two instances of the vault functions over one database: what one changes
// holds on the other by the time the change is answered, although each
// answers its requests from state read up to storage.ReadTTL ago.
func TestInstancesSeeChangesByTheTimeTheyAreAnswered(t *testing.T) {
	v := newTestVault(t)
	a, b := v.h, v.instance()
	token := func() string {
		t.Helper()
		rec := call(a, "POST", "/v1/auth/token/create", v.root, `{"policies":["root"],"display_name":"doomed"}`)
		var out struct {
			Auth struct {
				ClientToken string `json:"client_token"`
			} `json:"auth"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Auth.ClientToken == "" {
			t.Fatalf("create token: %d %s", rec.Code, rec.Body)
		}
		return out.Auth.ClientToken
	}
	// A revoked token: b had it in memory, and refuses it once the revoke is answered.
	tok := token()
	if rec := call(b, "GET", "/v1/auth/token/lookup-self", tok, ""); rec.Code != 200 {
		t.Fatalf("lookup-self on b: %d %s", rec.Code, rec.Body)
	}
	if rec := call(a, "POST", "/v1/auth/token/revoke", v.root, `{"token":"`+tok+`"}`); rec.Code != 204 {
		t.Fatalf("revoke on a: %d %s", rec.Code, rec.Body)
	}
	if rec := call(b, "GET", "/v1/auth/token/lookup-self", tok, ""); rec.Code != 403 {
		t.Fatalf("a revoked token on b: %d, want 403", rec.Code)
	}

	// A new mount, used on b at once.
	call(b, "GET", "/v1/secret/data/x", v.root, "") // b reads (and keeps) the mounts
	if rec := call(a, "POST", "/v1/sys/mounts/fresh", v.root, `{"type":"kv","options":{"version":"2"}}`); rec.Code != 204 {
		t.Fatalf("mount on a: %d %s", rec.Code, rec.Body)
	}
	if rec := call(b, "POST", "/v1/fresh/data/x", v.root, `{"data":{"k":"v"}}`); rec.Code != 200 {
		t.Fatalf("write to the new mount on b: %d %s", rec.Code, rec.Body)
	}

	// The bound itself: a token deleted behind the API's back may still work
	// on b for at most ReadTTL (it does, when b is asked in time), then never.
	tok = token()
	filled := time.Now()
	if rec := call(b, "GET", "/v1/auth/token/lookup-self", tok, ""); rec.Code != 200 {
		t.Fatalf("lookup-self on b: %d", rec.Code)
	}
	if _, err := surreal.Query[any](context.Background(), v.db, "DELETE tokens WHERE display_name = 'token-doomed'", nil); err != nil {
		t.Fatal(err)
	}
	rec := call(b, "GET", "/v1/auth/token/lookup-self", tok, "")
	if time.Since(filled) < storage.ReadTTL && rec.Code != 200 {
		t.Errorf("b within ReadTTL of reading the token: %d, want 200 (from memory)", rec.Code)
	}
	time.Sleep(storage.ReadTTL)
	if rec := call(b, "GET", "/v1/auth/token/lookup-self", tok, ""); rec.Code != 403 {
		t.Fatalf("a deleted token on b after ReadTTL: %d, want 403", rec.Code)
	}

	// A seal: b answers 503 at once.
	if rec := call(a, "PUT", "/v1/sys/seal", v.root, ""); rec.Code != 204 {
		t.Fatalf("seal on a: %d %s", rec.Code, rec.Body)
	}
	if rec := call(b, "GET", "/v1/secret/data/x", v.root, ""); rec.Code != 503 {
		t.Fatalf("b after a sealed: %d, want 503", rec.Code)
	}
}
