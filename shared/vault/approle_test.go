package vault

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

type approleLogin struct {
	Auth struct {
		ClientToken string            `json:"client_token"`
		Policies    []string          `json:"policies"`
		Metadata    map[string]string `json:"metadata"`
		Orphan      bool              `json:"orphan"`
	} `json:"auth"`
}

func mustCall(t *testing.T, h http.Handler, method, path, token, body string, want int) []byte {
	t.Helper()
	rec := call(h, method, path, token, body)
	if rec.Code != want {
		t.Fatalf("%s %s: %d %s (want %d)", method, path, rec.Code, rec.Body, want)
	}
	return rec.Body.Bytes()
}

func enableAppRole(t *testing.T, v testVault) {
	t.Helper()
	mustCall(t, v.h, "POST", "/v1/sys/auth/approle", v.root, `{"type":"approle"}`, 204)
	body, _ := json.Marshal(map[string]string{"policy": `path "secret/data/app/*" { capabilities = ["read"] }`})
	mustCall(t, v.h, "PUT", "/v1/sys/policies/acl/app", v.root, string(body), 204)
	mustCall(t, v.h, "POST", "/v1/secret/data/app/db", v.root, `{"data":{"password":"s3cret"}}`, 200)
}

func roleCreds(t *testing.T, v testVault, role string) (roleID, secretID string) {
	t.Helper()
	var rid struct {
		Data struct {
			RoleID string `json:"role_id"`
		} `json:"data"`
	}
	_ = json.Unmarshal(mustCall(t, v.h, "GET", "/v1/auth/approle/role/"+role+"/role-id", v.root, "", 200), &rid)
	var sid struct {
		Data struct {
			SecretID string `json:"secret_id"`
			Accessor string `json:"secret_id_accessor"`
		} `json:"data"`
	}
	_ = json.Unmarshal(mustCall(t, v.h, "POST", "/v1/auth/approle/role/"+role+"/secret-id", v.root, `{"metadata":{"host":"web-1"}}`, 200), &sid)
	if rid.Data.RoleID == "" || sid.Data.SecretID == "" || sid.Data.Accessor == "" {
		t.Fatalf("role %s: role_id %q, secret_id %q", role, rid.Data.RoleID, sid.Data.SecretID)
	}
	return rid.Data.RoleID, sid.Data.SecretID
}

// A machine logs in with a role_id and a secret_id and gets a token with
// the role's policies, default and its metadata; a limited secret_id works
// that many times; every failure is the same 400.
func TestAppRoleLogin(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	if rec := call(v.h, "GET", "/v1/sys/auth", v.root, ""); !strings.Contains(rec.Body.String(), `"approle/"`) {
		t.Fatalf("sys/auth does not list approle/: %s", rec.Body)
	}
	mustCall(t, v.h, "POST", "/v1/sys/auth/approle", v.root, `{"type":"approle"}`, 400)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/web", v.root,
		`{"token_policies":"app","token_ttl":"1h","token_max_ttl":7200,"secret_id_num_uses":2,"secret_id_ttl":"10m"}`, 204)
	roleID, secretID := roleCreds(t, v, "web")
	login := `{"role_id":"` + roleID + `","secret_id":"` + secretID + `"}`
	for i := range 2 {
		var out approleLogin
		_ = json.Unmarshal(mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", login, 200), &out)
		if !slices.Equal(out.Auth.Policies, []string{"app", "default"}) || out.Auth.Metadata["role_name"] != "web" ||
			out.Auth.Metadata["host"] != "web-1" || !out.Auth.Orphan {
			t.Fatalf("login %d: %+v", i+1, out.Auth)
		}
		mustCall(t, v.h, "GET", "/v1/secret/data/app/db", out.Auth.ClientToken, "", 200)
		mustCall(t, v.h, "POST", "/v1/secret/data/app/db", out.Auth.ClientToken, `{"data":{"x":"y"}}`, 403)
		if look := mustCall(t, v.h, "GET", "/v1/auth/token/lookup-self", out.Auth.ClientToken, "", 200); !strings.Contains(string(look), `"path":"auth/approle/login"`) {
			t.Fatalf("lookup-self of a login token: %s", look)
		}
	}
	for name, body := range map[string]string{
		"a spent secret_id":   login,
		"a wrong secret_id":   `{"role_id":"` + roleID + `","secret_id":"nope"}`,
		"an unknown role_id":  `{"role_id":"nope","secret_id":"` + secretID + `"}`,
		"no role_id":          `{"secret_id":"x"}`,
		"a role_id with a /":  `{"role_id":"../config","secret_id":"x"}`,
		"a body of bad shape": `{"role_id":7}`,
	} {
		if rec := call(v.h, "POST", "/v1/auth/approle/login", "", body); rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// Roles refuse what would widen a login, take values as numbers or as the
// strings Vault's CLI sends, and read back.
func TestAppRoleRoles(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	for name, body := range map[string]string{
		"root":          `{"token_policies":["root"]}`,
		"bound cidrs":   `{"secret_id_bound_cidrs":["10.0.0.0/8"]}`,
		"batch tokens":  `{"token_type":"batch"}`,
		"ttl over max":  `{"token_ttl":"2h","token_max_ttl":"1h"}`,
		"negative uses": `{"secret_id_num_uses":-1}`,
		"no secret_id":  `{"bind_secret_id":false}`,
		"bad duration":  `{"token_ttl":"soon"}`,
	} {
		if rec := call(v.h, "POST", "/v1/auth/approle/role/bad", v.root, body); rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/ci", v.root, `{"policies":"app,default","token_num_uses":"3","bind_secret_id":"true"}`, 204)
	var role struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(mustCall(t, v.h, "GET", "/v1/auth/approle/role/CI", v.root, "", 200), &role)
	if role.Data["token_num_uses"] != float64(3) || role.Data["bind_secret_id"] != true {
		t.Fatalf("role read back: %v", role.Data)
	}
	if list := mustCall(t, v.h, "LIST", "/v1/auth/approle/role", v.root, "", 200); !strings.Contains(string(list), `"ci"`) {
		t.Fatalf("list roles: %s", list)
	}
	// The role_id alone would be the credential: refused.
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/ci", v.root, `{"bind_secret_id":false}`, 400)
	// A custom role_id logs in with a secret_id; one in use by another role is refused.
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/ci/role-id", v.root, `{"role_id":"ci-runner"}`, 204)
	_, secretID := roleCreds(t, v, "ci")
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"ci-runner","secret_id":"`+secretID+`"}`, 200)
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"ci-runner"}`, 400)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/other", v.root, `{}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/other/role-id", v.root, `{"role_id":"ci-runner"}`, 400)
	// A token without a policy for the role paths cannot read them; a deny
	// on a role is not escaped by writing its name in upper case.
	app := createToken(t, v, v.root, `{"policies":["app"],"ttl":"1h"}`)
	mustCall(t, v.h, "GET", "/v1/auth/approle/role/ci/role-id", app.token, "", 403)
	body, _ := json.Marshal(map[string]string{"policy": `path "auth/approle/role/*" { capabilities = ["read"] }
path "auth/approle/role/ci" { capabilities = ["deny"] }`})
	mustCall(t, v.h, "PUT", "/v1/sys/policies/acl/roles-but-ci", v.root, string(body), 204)
	reader := createToken(t, v, v.root, `{"policies":["roles-but-ci"],"ttl":"1h"}`)
	mustCall(t, v.h, "GET", "/v1/auth/approle/role/other", reader.token, "", 200)
	mustCall(t, v.h, "GET", "/v1/auth/approle/role/CI", reader.token, "", 403)
	// Deleting the role ends its logins, and a role made again under the
	// same name does not take the old role's secret_ids.
	mustCall(t, v.h, "DELETE", "/v1/auth/approle/role/ci", v.root, "", 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"ci-runner","secret_id":"`+secretID+`"}`, 400)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/ci", v.root, `{"policies":"app"}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/ci/role-id", v.root, `{"role_id":"ci-runner"}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"ci-runner","secret_id":"`+secretID+`"}`, 400)
}

// A secret_id's metadata becomes the login token's tags: only root or sudo
// on auth/token/create may set it; a role that is gone stops renewals;
// creating a role takes create, changing it update.
func TestAppRoleTagsRenewalsAndCapabilities(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	body, _ := json.Marshal(map[string]string{"policy": `path "auth/approle/role/+/secret-id" { capabilities = ["update"] }
path "auth/approle/role/+" { capabilities = ["update"] }`})
	mustCall(t, v.h, "PUT", "/v1/sys/policies/acl/issuer", v.root, string(body), 204)
	issuer := createToken(t, v, v.root, `{"policies":["issuer"],"ttl":"1h"}`)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc", issuer.token, `{"token_policies":"app"}`, 403) // create, not update
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc", v.root, `{"token_policies":"app","token_period":"1h"}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc", issuer.token, `{"token_ttl":"30m"}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc/secret-id", issuer.token, `{"metadata":{"team":"payments"}}`, 403)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc/secret-id", issuer.token, `{}`, 200)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc/secret-id", v.root, `{"metadata":{"role_name":"admin"}}`, 400)
	roleID, secretID := roleCreds(t, v, "svc")
	var out approleLogin
	_ = json.Unmarshal(mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"`+roleID+`","secret_id":"`+secretID+`"}`, 200), &out)
	mustCall(t, v.h, "POST", "/v1/auth/token/renew-self", out.Auth.ClientToken, "", 200)
	mustCall(t, v.h, "DELETE", "/v1/auth/approle/role/svc", v.root, "", 204)
	mustCall(t, v.h, "POST", "/v1/auth/token/renew-self", out.Auth.ClientToken, "", 400)
	// A role made again under the name is another role: the old login's token stays unrenewable.
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/svc", v.root, `{"token_policies":"app","token_period":"1h"}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/token/renew-self", out.Auth.ClientToken, "", 400)
	roleID, secretID = roleCreds(t, v, "svc")
	_ = json.Unmarshal(mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"`+roleID+`","secret_id":"`+secretID+`"}`, 200), &out)
	mustCall(t, v.h, "POST", "/v1/auth/token/renew-self", out.Auth.ClientToken, "", 200)
}

// A secret_id with 3 uses logs in exactly 3 times when 12 logins race on
// two instances: its uses are spent by a conditional write in SurrealDB.
func TestAppRoleSecretUsesAcrossInstances(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/race", v.root, `{"token_policies":["app"],"secret_id_num_uses":3}`, 204)
	roleID, secretID := roleCreds(t, v, "race")
	instances := []http.Handler{v.h, v.instance()}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			rec := call(instances[i%2], "POST", "/v1/auth/approle/login", "", `{"role_id":"`+roleID+`","secret_id":"`+secretID+`"}`)
			mu.Lock()
			codes[rec.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 3 || codes[400] != 9 {
		t.Fatalf("logins: %v, want 3×200 and 9×400", codes)
	}
}

// Disabling the method drops its roles and revokes the tokens it issued.
func TestAppRoleDisable(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/web", v.root, `{"token_policies":["app"]}`, 204)
	roleID, secretID := roleCreds(t, v, "web")
	var out approleLogin
	_ = json.Unmarshal(mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"`+roleID+`","secret_id":"`+secretID+`"}`, 200), &out)
	mustCall(t, v.h, "DELETE", "/v1/sys/auth/approle", v.root, "", 204)
	mustCall(t, v.h, "GET", "/v1/auth/token/lookup-self", out.Auth.ClientToken, "", 403)
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", `{"role_id":"`+roleID+`","secret_id":"`+secretID+`"}`, 404)
	mustCall(t, v.h, "GET", "/v1/auth/approle/role/web", v.root, "", 404)
}

// A role may be created with its role_id; a secret_id may ask for fewer
// uses and a shorter TTL than its role's, never more.
func TestAppRoleAskedLimits(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/preset", v.root, `{"role_id":"preset-id","token_policies":"app","secret_id_num_uses":5,"secret_id_ttl":"1h"}`, 204)
	if body := mustCall(t, v.h, "GET", "/v1/auth/approle/role/preset/role-id", v.root, "", 200); !strings.Contains(string(body), `"role_id":"preset-id"`) {
		t.Fatalf("role-id of a role created with one: %s", body)
	}
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/other", v.root, `{"role_id":"preset-id"}`, 400)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/preset/secret-id", v.root, `{"num_uses":6}`, 400)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/preset/secret-id", v.root, `{"ttl":"2h"}`, 400)
	var sid struct {
		Data struct {
			SecretID string `json:"secret_id"`
			TTL      int64  `json:"secret_id_ttl"`
			Uses     int    `json:"secret_id_num_uses"`
		} `json:"data"`
	}
	_ = json.Unmarshal(mustCall(t, v.h, "POST", "/v1/auth/approle/role/preset/secret-id", v.root, `{"num_uses":"1","ttl":"5m"}`, 200), &sid)
	if sid.Data.TTL != 300 || sid.Data.Uses != 1 {
		t.Fatalf("asked limits: %+v", sid.Data)
	}
	login := `{"role_id":"preset-id","secret_id":"` + sid.Data.SecretID + `"}`
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", login, 200)
	mustCall(t, v.h, "POST", "/v1/auth/approle/login", "", login, 400)
	// Changing the role_id through the role frees the old one.
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/preset", v.root, `{"role_id":"renamed-id"}`, 204)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/other", v.root, `{"role_id":"preset-id"}`, 204)
}

// A conditional removal holds only at the revision read: a role deleted
// after its role_id changed cannot take the old role's index entry and
// leave the new one behind.
func TestStorageRemoveAtRevision(t *testing.T) {
	v := newTestVault(t)
	ctx := context.Background()
	if err := v.st.Put(ctx, storage.Write{Path: "test/a", Data: []byte(`1`), Rev: 0}); err != nil {
		t.Fatal(err)
	}
	if err := v.st.Put(ctx, storage.Write{Path: "test/a", Data: []byte(`2`), Rev: 1}); err != nil {
		t.Fatal(err)
	}
	err := v.st.Put(ctx, storage.Write{Path: "test/a", Rev: 1, Remove: true}, storage.Write{Path: "test/b", Data: []byte(`x`), Rev: 0})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("removing a stale revision: %v, want ErrConflict", err)
	}
	if got, _ := v.st.Get(ctx, "test/a", "test/b"); got["test/a"].Rev != 2 || len(got) != 1 {
		t.Fatalf("after the refused transaction: %+v", got)
	}
	if err := v.st.Put(ctx, storage.Write{Path: "test/a", Rev: 2, Remove: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.st.Get(ctx, "test/a"); len(got) != 0 {
		t.Fatalf("removed at its revision, still there: %+v", got)
	}
	if err := v.st.Put(ctx, storage.Write{Path: "test/a", Rev: 2, Remove: true}); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("removing what is gone at a revision: %v, want ErrConflict", err)
	}
}

// Tidy removes the secret_ids that expired and keeps the others; it takes
// update on its path, as Vault's does. Lookup answers as Vault's.
func TestAppRoleTidyRemovesExpiredSecretIDs(t *testing.T) {
	v := newTestVault(t)
	enableAppRole(t, v)
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/batch", v.root, `{"token_policies":"app"}`, 204)
	accessorOf := func(body []byte) string {
		var out struct {
			Data struct {
				Accessor string `json:"secret_id_accessor"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &out)
		return out.Data.Accessor
	}
	short := accessorOf(mustCall(t, v.h, "POST", "/v1/auth/approle/role/batch/secret-id", v.root, `{"ttl":"1s"}`, 200))
	long := accessorOf(mustCall(t, v.h, "POST", "/v1/auth/approle/role/batch/secret-id", v.root, `{}`, 200))
	time.Sleep(1100 * time.Millisecond) // the short one expires
	// Lookup shows an expired secret_id until tidy (as Vault's), with its TTL.
	look := string(mustCall(t, v.h, "POST", "/v1/auth/approle/role/batch/secret-id-accessor/lookup", v.root, `{"secret_id_accessor":"`+short+`"}`, 200))
	if !strings.Contains(look, `"secret_id_ttl":1`) || !strings.Contains(look, `"last_updated_time"`) {
		t.Fatalf("lookup of the expired secret_id: %s", look)
	}
	mustCall(t, v.h, "POST", "/v1/auth/approle/role/batch/secret-id/lookup", v.root, `{"secret_id":"not-one"}`, 204)
	app := createToken(t, v, v.root, `{"policies":["app"],"ttl":"1h"}`)
	mustCall(t, v.h, "POST", "/v1/auth/approle/tidy/secret-id", app.token, "", 403)
	body := mustCall(t, v.h, "POST", "/v1/auth/approle/tidy/secret-id", v.root, "", 202)
	if !strings.Contains(string(body), "1 expired secret_ids removed") {
		t.Fatalf("tidy: %s", body)
	}
	list := string(mustCall(t, v.h, "LIST", "/v1/auth/approle/role/batch/secret-id", v.root, "", 200))
	if strings.Contains(list, short) || !strings.Contains(list, long) {
		t.Fatalf("after tidy, accessors %s: want %s and not %s", list, long, short)
	}
	gone := string(mustCall(t, v.h, "POST", "/v1/auth/approle/role/batch/secret-id-accessor/lookup", v.root, `{"secret_id_accessor":"`+short+`"}`, 404))
	if !strings.Contains(gone, "failed to find accessor entry for secret_id_accessor") {
		t.Fatalf("lookup of a tidied accessor: %s", gone)
	}
}
