package vault

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// waitRecent waits until what an instance read is no longer kept.
func waitRecent() { time.Sleep(2 * storage.ReadTTL) }

type created struct {
	token, accessor string
}

func createToken(t *testing.T, v testVault, parent, body string) created {
	t.Helper()
	rec := call(v.h, "POST", "/v1/auth/token/create", parent, body)
	var out struct {
		Auth struct {
			ClientToken string `json:"client_token"`
			Accessor    string `json:"accessor"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Auth.ClientToken == "" {
		t.Fatalf("create token: %d %s", rec.Code, rec.Body)
	}
	return created{out.Auth.ClientToken, out.Auth.Accessor}
}

func dbExec(t *testing.T, v testVault, sql string, vars map[string]any) {
	t.Helper()
	if _, err := surreal.Query[any](context.Background(), v.db, sql, vars); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// A MAC proves the vault wrote a record, not that it is the current one:
// a revoked token's saved record put back is refused (its tombstone), and so
// is a child detached from its parent in the database (parent and orphan are
// under its MAC); revoke-orphan, which detaches through the vault, MACs the
// children again.
func TestTokenRecordsCannotBeReplayed(t *testing.T) {
	v := newTestVault(t)
	ok := func(tok string, want int) {
		t.Helper()
		if rec := call(v.h, "GET", "/v1/auth/token/lookup-self", tok, ""); rec.Code != want {
			t.Fatalf("lookup-self: %d, want %d: %s", rec.Code, want, rec.Body)
		}
	}
	revoked := createToken(t, v, v.root, `{"policies":["default"],"ttl":"1h"}`)
	saved, err := surreal.Query[[]map[string]any](context.Background(), v.db, "SELECT * FROM tokens WHERE accessor = $a", map[string]any{"a": revoked.accessor})
	if err != nil || len(saved) != 1 {
		t.Fatalf("saved record %v %v", saved, err)
	}
	if rec := call(v.h, "POST", "/v1/auth/token/revoke", v.root, `{"token":"`+revoked.token+`"}`); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	dbExec(t, v, "CREATE $id CONTENT $c", map[string]any{"id": saved[0]["id"], "c": saved[0]})
	ok(revoked.token, 403)

	if rec := call(v.h, "PUT", "/v1/sys/policies/acl/creator", v.root, `{"policy":"path \"auth/token/create\" { capabilities = [\"create\", \"update\"] }"}`); rec.Code != 204 {
		t.Fatalf("put policy: %d %s", rec.Code, rec.Body)
	}
	parent := createToken(t, v, v.root, `{"policies":["default","creator"],"ttl":"1h"}`)
	child := createToken(t, v, parent.token, `{"ttl":"30m"}`)
	ok(child.token, 200)
	dbExec(t, v, "UPDATE tokens SET parent = NONE, orphan = true WHERE accessor = $a", map[string]any{"a": child.accessor})
	waitRecent()
	ok(child.token, 403)

	other := createToken(t, v, parent.token, `{"ttl":"30m"}`)
	if rec := call(v.h, "POST", "/v1/auth/token/revoke-orphan", v.root, `{"token":"`+parent.token+`"}`); rec.Code != 204 {
		t.Fatalf("revoke-orphan: %d %s", rec.Code, rec.Body)
	}
	ok(parent.token, 403)
	ok(other.token, 200)
	rec := call(v.h, "GET", "/v1/auth/token/lookup-self", other.token, "")
	if !strings.Contains(rec.Body.String(), `"orphan":true`) {
		t.Fatalf("a child revoke-orphan detached: %s", rec.Body)
	}
}

// A policy's older copy put back, or a policy deleted or planted in the
// database, is refused (fail closed: the request is denied); a token that
// names a policy that does not exist is served by its others, as in Vault.
func TestPolicyRecordsCannotBeReplayed(t *testing.T) {
	v := newTestVault(t)
	put := func(name, hcl string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"policy": hcl})
		if rec := call(v.h, "PUT", "/v1/sys/policies/acl/"+name, v.root, string(body)); rec.Code != 204 {
			t.Fatalf("put policy %s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := call(v.h, "POST", "/v1/secret/data/team/x", v.root, `{"data":{"k":"v"}}`); rec.Code != 200 {
		t.Fatalf("write: %d %s", rec.Code, rec.Body)
	}
	put("team", `path "secret/data/*" { capabilities = ["read"] }`)
	broad, err := surreal.Query[[]map[string]any](context.Background(), v.db, "SELECT * FROM policies:team", nil)
	if err != nil || len(broad) != 1 {
		t.Fatalf("saved policy %v %v", broad, err)
	}
	put("team", `path "secret/data/other/*" { capabilities = ["read"] }`)
	tok := createToken(t, v, v.root, `{"policies":["team","ghost"],"ttl":"1h"}`)
	read := func(want int) {
		t.Helper()
		if rec := call(v.h, "GET", "/v1/secret/data/team/x", tok.token, ""); rec.Code != want {
			t.Fatalf("read: %d, want %d: %s", rec.Code, want, rec.Body)
		}
	}
	read(403) // the narrow policy; "ghost" does not exist and grants nothing
	put("team", `path "secret/data/team/*" { capabilities = ["read"] }`)
	read(200)

	dbExec(t, v, "UPDATE policies:team CONTENT $c", map[string]any{"c": broad[0]})
	waitRecent()
	read(403)
	if rec := call(v.h, "GET", "/v1/sys/policies/acl/team", v.root, ""); rec.Code != 403 {
		t.Fatalf("read an older copy of a policy: %d", rec.Code)
	}
	put("team", `path "secret/data/team/*" { capabilities = ["read"] }`)
	read(200)

	dbExec(t, v, "DELETE policies:team", nil)
	waitRecent()
	read(403)
	put("team", `path "secret/data/team/*" { capabilities = ["read"] }`)
	// A policy planted under a name the vault never wrote, with a MAC it
	// wrote for another name's generation, is refused.
	dbExec(t, v, "CREATE policies:ghost CONTENT { name: 'ghost', text: $t, gen: $g, mac: $m }",
		map[string]any{"t": broad[0]["text"], "g": broad[0]["gen"], "m": broad[0]["mac"]})
	waitRecent()
	read(403)
	if rec := call(v.h, "DELETE", "/v1/sys/policies/acl/ghost", v.root, ""); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	read(200)
}
