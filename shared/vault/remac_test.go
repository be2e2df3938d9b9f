package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// downgradeKeyring rewrites the sealed keyring as a vault created before the
// record format was kept in it, and returns the record key. share is the
// vault's one unseal share: the root key and a 1 (see keeper.Init).
func downgradeKeyring(t *testing.T, v testVault) []byte {
	t.Helper()
	ctx := context.Background()
	raw, err := hex.DecodeString(v.share)
	if err != nil || len(raw) != 33 {
		t.Fatalf("share: %v", err)
	}
	block, _ := aes.NewCipher(raw[:32])
	gcm, _ := cipher.NewGCM(block)
	blob, err := surreal.Query[[]byte](ctx, v.db, "SELECT VALUE keyring FROM ONLY seal:config", nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := gcm.Open(nil, blob[1:13], blob[13:], []byte("keyring"))
	if err != nil {
		t.Fatal(err)
	}
	var ring map[string]any
	if err := json.Unmarshal(plain, &ring); err != nil || ring["records"] == nil {
		t.Fatalf("a new vault's keyring says its records' format: %v %v", ring["records"], err)
	}
	delete(ring, "records")
	plain, _ = json.Marshal(ring)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	old := gcm.Seal(append([]byte{1}, nonce...), nonce, plain, []byte("keyring"))
	dbExec(t, v, "UPDATE seal:config SET keyring = $k", map[string]any{"k": old})
	var keys struct{ Token []byte }
	_ = json.Unmarshal(plain, &keys)
	m := hmac.New(sha256.New, keys.Token)
	m.Write([]byte("secretumvault record mac v1"))
	return m.Sum(nil)
}

// A vault from before the record MACs (or their current format) is usable
// again after one unseal: its records are MAC'd then, once; a record whose
// MAC is there but fails stays refused. The mark that it was done is in the
// keyring, sealed by the root key: a record stripped of its MAC later is
// refused, also after another unseal.
func TestOlderRecordsAreMACdOnceAtUnseal(t *testing.T) {
	v := newTestVault(t)
	if rec := call(v.h, "POST", "/v1/secret/data/team/x", v.root, `{"data":{"k":"v"}}`); rec.Code != 200 {
		t.Fatalf("write: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "PUT", "/v1/sys/policies/acl/team", v.root, `{"policy":"path \"secret/data/team/*\" { capabilities = [\"read\"] }"}`); rec.Code != 204 {
		t.Fatalf("policy: %d %s", rec.Code, rec.Body)
	}
	bare := createToken(t, v, v.root, `{"policies":["team"],"ttl":"1h"}`)
	oldMAC := createToken(t, v, v.root, `{"policies":["team"],"ttl":"1h"}`)
	edited := createToken(t, v, v.root, `{"policies":["team"],"ttl":"1h"}`)
	if rec := call(v.h, "PUT", "/v1/sys/seal", v.root, ""); rec.Code != 204 {
		t.Fatalf("seal: %d %s", rec.Code, rec.Body)
	}
	key := downgradeKeyring(t, v)
	// As the records of a vault from before: no MAC, or a token's first MAC,
	// and no revocation state version.
	dbExec(t, v, "UPDATE tokens SET mac = NONE WHERE accessor != $a; UPDATE tokens SET rev_gen = NONE; UPDATE policies SET mac = NONE, gen = NONE; "+
		"DELETE integrity_state; UPDATE mounts SET mac = NONE", map[string]any{"a": oldMAC.accessor})
	rows, err := surreal.Query[[]tokenRow](context.Background(), v.db, "SELECT "+tokenFields+" FROM tokens WHERE accessor = $a",
		map[string]any{"a": oldMAC.accessor})
	if err != nil || len(rows) != 1 {
		t.Fatalf("token %v %v", rows, err)
	}
	tok := rows[0].token()
	v1, _ := integrity.Sum(key, "token", tok.Hash, macFieldsV1Of(tok))
	dbExec(t, v, "UPDATE tokens SET mac = $m WHERE accessor = $a", map[string]any{"m": v1, "a": oldMAC.accessor})
	dbExec(t, v, "UPDATE tokens SET policies = ['root'], mac = $m WHERE accessor = $a", map[string]any{"m": v1, "a": edited.accessor})
	// A lease from before lease MACs, and one with a MAC that fails.
	for id, mac := range map[string]any{"old": nil, "forged": "v1:00"} {
		dbExec(t, v, "CREATE type::record('leases', $id) CONTENT { lease_id: $id, engine: 'database', mount_uuid: 'u', mount_path: 'db/', "+
			"role: 'r', db_name: 'pg', username: 'v-r-x', revocation_statements: ['DROP ROLE \"{{name}}\"'], token_hash: 'h', "+
			"issue_time: time::now(), expire_time: time::now() + 1h, max_expire_time: time::now() + 2h, default_ttl_seconds: 3600, mac: $mac ?? NONE }",
			map[string]any{"id": id, "mac": mac})
	}

	// The upgraded code runs in new instances (an instance that saw the re-MAC done does not ask again).
	if rec := call(v.instance(), "PUT", "/v1/sys/unseal", "", `{"key":"`+v.share+`"}`); rec.Code != 200 {
		t.Fatalf("unseal: %d %s", rec.Code, rec.Body)
	}
	read := func(tok string, want int) {
		t.Helper()
		if rec := call(v.h, "GET", "/v1/secret/data/team/x", tok, ""); rec.Code != want {
			t.Fatalf("read: %d, want %d: %s", rec.Code, want, rec.Body)
		}
	}
	read(v.root, 200)
	read(bare.token, 200)
	read(oldMAC.token, 200)
	read(edited.token, 403)
	macs, err := surreal.Query[map[string]*string](context.Background(), v.db,
		"RETURN object::from_entries((SELECT VALUE [lease_id, mac] FROM leases))", nil)
	if err != nil || macs["old"] == nil || *macs["old"] == "" || macs["forged"] == nil || *macs["forged"] != "v1:00" {
		t.Fatalf("leases after the re-MAC: %v %v", macs, err)
	}

	// Not again: a record stripped of its MAC now stays refused, whatever is
	// deleted in the database, and the unseal does not bless it.
	if rec := call(v.h, "PUT", "/v1/sys/seal", v.root, ""); rec.Code != 204 {
		t.Fatalf("seal: %d %s", rec.Code, rec.Body)
	}
	dbExec(t, v, "UPDATE tokens SET mac = NONE WHERE accessor = $a", map[string]any{"a": bare.accessor})
	if rec := call(v.h, "PUT", "/v1/sys/unseal", "", `{"key":"`+v.share+`"}`); rec.Code != 200 {
		t.Fatalf("unseal: %d %s", rec.Code, rec.Body)
	}
	read(v.root, 200)
	read(bare.token, 403)

	// A token from before the revocation states carries its state's version
	// from the re-MAC on: deleting that state refuses it, as it refuses the
	// tokens created since (else a revoked one could be put back with it).
	read(oldMAC.token, 200)
	dbExec(t, v, "DELETE $st", map[string]any{"st": revocationStateID(revocationBucket(tok.Hash))})
	if rec := call(v.instance(), "GET", "/v1/secret/data/team/x", oldMAC.token, ""); rec.Code != 403 { // an instance with nothing cached
		t.Fatalf("a pre-upgrade token with its revocation state deleted: %d %s", rec.Code, rec.Body)
	}
}

// A vault the upgrade left unsealed cannot be sealed (its root token is
// refused like every other record), so any sys/unseal call runs the re-MAC.
func TestOlderRecordsOfAnUnsealedVaultAreMACdByAnUnsealCall(t *testing.T) {
	v := newTestVault(t)
	downgradeKeyring(t, v)
	dbExec(t, v, "UPDATE tokens SET mac = NONE", nil)
	if rec := call(v.h, "GET", "/v1/auth/token/lookup-self", v.root, ""); rec.Code != 403 {
		t.Fatalf("a MAC-less root token before the re-MAC: %d", rec.Code)
	}
	if rec := call(v.instance(), "PUT", "/v1/sys/unseal", "", `{"key":"anything"}`); rec.Code != 200 {
		t.Fatalf("unseal call on an unsealed vault: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "GET", "/v1/auth/token/lookup-self", v.root, ""); rec.Code != 200 {
		t.Fatalf("the root token after the re-MAC: %d %s", rec.Code, rec.Body)
	}
}
