package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	bao "github.com/openbao/openbao/api/v2"
)

// A machine logs in with AppRole through OpenBao's API client, as Vault
// Agent or a CI job does: the operator enables the method, writes a role
// and hands out its role_id and a secret_id; the login's token has the
// role's policies and default, and a wrong secret_id is a 400.
func TestVaultAppRole(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	err := root.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &bao.EnableAuthOptions{Type: "approle"})
	if err != nil && !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("enable approle: %v", err)
	}
	auths, err := root.Sys().ListAuthWithContext(ctx)
	if err != nil || auths["approle/"] == nil || auths["approle/"].Type != "approle" {
		t.Fatalf("auth list: %v %v", auths, err)
	}
	mount, role := strings.ToLower(unique("ar")), strings.ToLower(unique("web"))
	if err := root.Sys().MountWithContext(ctx, mount, &bao.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.KVv2(mount).Put(ctx, "app/db", map[string]any{"password": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicyWithContext(ctx, role, `path "`+mount+`/data/app/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().WriteWithContext(ctx, "auth/approle/role/"+role, map[string]any{
		"token_policies": role, "token_ttl": "1h", "secret_id_num_uses": 5}); err != nil {
		t.Fatal(err)
	}
	rid, err := root.Logical().ReadWithContext(ctx, "auth/approle/role/"+role+"/role-id")
	if err != nil || rid == nil {
		t.Fatalf("role-id: %v %v", rid, err)
	}
	sid, err := root.Logical().WriteWithContext(ctx, "auth/approle/role/"+role+"/secret-id", nil)
	if err != nil || sid == nil {
		t.Fatalf("secret-id: %v %v", sid, err)
	}
	machine := baoClient(t, ep.Gateways["vault"], "")
	login, err := machine.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{
		"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]})
	if err != nil || login.Auth == nil || !slices.Equal(login.Auth.Policies, []string{"default", role}) ||
		login.Auth.LeaseDuration != 3600 || login.Auth.Metadata["role_name"] != role {
		t.Fatalf("login: %+v %v", login, err)
	}
	machine.SetToken(login.Auth.ClientToken)
	if s, err := machine.KVv2(mount).Get(ctx, "app/db"); err != nil || s.Data["password"] != "s3cret" {
		t.Fatalf("read with the login's token: %+v %v", s, err)
	}
	if _, err := machine.KVv2(mount).Put(ctx, "app/db", map[string]any{"x": "y"}); !hasStatus(err, 403) {
		t.Fatalf("write with a read-only login: %v", err)
	}
	anon := baoClient(t, ep.Gateways["vault"], "")
	_, err = anon.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": rid.Data["role_id"], "secret_id": "wrong"})
	if !hasStatus(err, 400) || !strings.Contains(err.Error(), "invalid role or secret ID") {
		t.Fatalf("login with a wrong secret_id: %v", err)
	}
}
