package vault

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/vaultkv"
)

// The functions' own vault client logs in with an AppRole from its
// environment, keeps the token, and logs in again when the vault refuses
// it: with 2-use tokens and a 2-use secret_id, four reads pass (two logins)
// and the fifth fails on the spent secret_id.
func TestVaultKVClientLogsInWithAppRole(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/fn", v.root, `{"token_policies":"app","token_num_uses":2,"secret_id_num_uses":2}`, 204)
	roleID, secretID := roleCreds(t, v, "fn")
	srv := httptest.NewServer(v.h)
	defer srv.Close()
	env := map[string]string{"VAULT_ROLE_ID": roleID, "VAULT_SECRET_ID": secretID}
	kv, err := vaultkv.FromEnv(srv.URL, func(k string) string { return env[k] }, "secret")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 4 {
		sec, err := kv.Read(ctx, "app/db")
		if err != nil || sec.Data["password"] != "s3cret" {
			t.Fatalf("read %d: %+v %v", i+1, sec, err)
		}
	}
	if _, err := kv.Read(ctx, "app/db"); err == nil || !strings.Contains(err.Error(), "invalid role or secret ID") {
		t.Fatalf("read after the secret_id is spent: %v", err)
	}
	if _, err := vaultkv.FromEnv(srv.URL, func(k string) string { return map[string]string{"VAULT_ROLE_ID": "x"}[k] }, ""); err == nil {
		t.Fatal("a role_id without a secret_id was accepted")
	}
}

// A read the role's policies do not grant is a 403 as it is: it does not
// spend another login (a secret_id's use) on a token that is still good.
func TestVaultKVClientKeepsItsTokenOnAMissingGrant(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	mustCall(t, v.h, "POST", "/v1/secret/data/other/db", v.root, `{"data":{"k":"v"}}`, 200)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/fn", v.root, `{"token_policies":"app","secret_id_num_uses":1}`, 204)
	roleID, secretID := roleCreds(t, v, "fn")
	srv := httptest.NewServer(v.h)
	defer srv.Close()
	env := map[string]string{"VAULT_ROLE_ID": roleID, "VAULT_SECRET_ID": secretID}
	kv, err := vaultkv.FromEnv(srv.URL, func(k string) string { return env[k] }, "secret")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := kv.Read(ctx, "other/db"); !vaultkv.Denied(err) {
			t.Fatalf("a read the role may not make: %v", err)
		}
	}
	if sec, err := kv.Read(ctx, "app/db"); err != nil || sec.Data["password"] != "s3cret" {
		t.Fatalf("an allowed read after the refusals (the one-use secret_id was spent once): %+v %v", sec, err)
	}
}
