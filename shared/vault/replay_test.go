package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

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

// A renewal's time is shown by lookup as OpenBao does, and is under the
// token's MAC: changed in the database, the token is refused.
func TestTokenLastRenewalIsShownAndMACd(t *testing.T) {
	v := newTestVault(t)
	tok := createToken(t, v, v.root, `{"policies":["default"],"ttl":"1h"}`)
	if rec := call(v.h, "GET", "/v1/auth/token/lookup-self", tok.token, ""); strings.Contains(rec.Body.String(), "last_renewal") {
		t.Fatalf("never renewed, yet: %s", rec.Body)
	}
	if rec := call(v.h, "POST", "/v1/auth/token/renew-self", tok.token, `{"increment":"2h"}`); rec.Code != 200 {
		t.Fatalf("renew: %d %s", rec.Code, rec.Body)
	}
	rec := call(v.h, "GET", "/v1/auth/token/lookup-self", tok.token, "")
	var out struct {
		Data struct {
			LastRenewalTime int64  `json:"last_renewal_time"`
			LastRenewal     string `json:"last_renewal"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.LastRenewalTime == 0 || out.Data.LastRenewal == "" {
		t.Fatalf("lookup after a renewal: %d %s", rec.Code, rec.Body)
	}
	dbExec(t, v, "UPDATE tokens SET last_renewal_time = $lr WHERE accessor = $a",
		map[string]any{"a": tok.accessor, "lr": out.Data.LastRenewalTime - 3600})
	waitRecent()
	if rec := call(v.h, "GET", "/v1/auth/token/lookup-self", tok.token, ""); rec.Code != 403 {
		t.Fatalf("a renewal time changed in the database: %d, want 403", rec.Code)
	}
}

// The tombstone has no MAC: a revoked token whose record is put back and
// whose tombstone is deleted is still refused, by its revocation state (a
// MAC'd set of the revoked); that state deleted, or an older copy put back,
// refuses the tokens created under a later one instead of letting them in.
func TestRevokedTokenStaysRevokedWithoutItsTombstone(t *testing.T) {
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
	state := "integrity_state:" + revocationBucket(fmt.Sprint(saved[0]["id"].(models.RecordID).ID))
	before, err := surreal.Query[[]map[string]any](context.Background(), v.db, "SELECT * FROM "+state, nil)
	if err != nil || len(before) != 1 {
		t.Fatalf("the state a token is created under: %v %v", before, err)
	}
	if rec := call(v.h, "POST", "/v1/auth/token/revoke", v.root, `{"token":"`+revoked.token+`"}`); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	dbExec(t, v, "CREATE $id CONTENT $c", map[string]any{"id": saved[0]["id"], "c": saved[0]})
	dbExec(t, v, "DELETE type::record('token_revoked', record::id($id))", map[string]any{"id": saved[0]["id"]})
	ok(revoked.token, 403)

	// The state put back from before the revocation lets the record in
	// again, as a consistent rollback would, but refuses every token of its
	// bucket created since: the rollback is seen, and fails closed.
	later := sameBucket(t, v, revocationBucket(fmt.Sprint(saved[0]["id"].(models.RecordID).ID)))
	ok(later.token, 200)
	dbExec(t, v, "UPDATE "+state+" CONTENT $c", map[string]any{"c": before[0]})
	waitRecent()
	ok(later.token, 403)
	dbExec(t, v, "DELETE "+state, nil)
	waitRecent()
	ok(revoked.token, 403)
	ok(later.token, 403)
}

// sameBucket creates tokens until one falls in bucket's revocation state.
func sameBucket(t *testing.T, v testVault, bucket string) created {
	t.Helper()
	for range 200 {
		c := createToken(t, v, v.root, `{"policies":["default"],"ttl":"1h"}`)
		hash, err := surreal.Query[[]string](context.Background(), v.db, "SELECT VALUE record::id(id) FROM tokens WHERE accessor = $a", map[string]any{"a": c.accessor})
		if err != nil || len(hash) != 1 {
			t.Fatalf("token hash: %v %v", hash, err)
		}
		if revocationBucket(hash[0]) == bucket {
			return c
		}
	}
	t.Fatalf("no token in %s after 200", bucket)
	return created{}
}

// A revocation's entry is kept until an hour past the token's expiry as its
// MAC'd record says: an expiry edited into the past before the revocation
// (here of a child, revoked with its parent) does not let the entry be
// pruned early and the record be put back later.
func TestRevocationEntryIgnoresAnEditedExpiry(t *testing.T) {
	v := newTestVault(t)
	parent := createToken(t, v, v.root, `{"ttl":"1h"}`) // root's policies: it may create a child
	child := createToken(t, v, parent.token, `{"policies":["default"],"ttl":"1h"}`)
	saved, err := surreal.Query[[]map[string]any](context.Background(), v.db, "SELECT * FROM tokens WHERE accessor = $a", map[string]any{"a": child.accessor})
	if err != nil || len(saved) != 1 {
		t.Fatalf("saved record %v %v", saved, err)
	}
	hash := fmt.Sprint(saved[0]["id"].(models.RecordID).ID)
	dbExec(t, v, "UPDATE $id SET expire_time = time::now() - 2d", map[string]any{"id": saved[0]["id"]})
	if rec := call(v.h, "POST", "/v1/auth/token/revoke", v.root, `{"token":"`+parent.token+`"}`); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	// Another revocation in the same bucket prunes what is past its time.
	other := sameBucket(t, v, revocationBucket(hash))
	if rec := call(v.h, "POST", "/v1/auth/token/revoke", v.root, `{"token":"`+other.token+`"}`); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	// The child's original, validly MAC'd record put back without its tombstone is still refused.
	dbExec(t, v, "CREATE $id CONTENT $c", map[string]any{"id": saved[0]["id"], "c": saved[0]})
	dbExec(t, v, "DELETE type::record('token_revoked', $h)", map[string]any{"h": hash})
	waitRecent()
	if rec := call(v.h, "GET", "/v1/auth/token/lookup-self", child.token, ""); rec.Code != 403 {
		t.Fatalf("a revoked token put back after its entry's expiry was edited: %d %s", rec.Code, rec.Body)
	}
}
