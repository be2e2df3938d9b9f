package vault

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A new token's policies follow Vault's token store.
func TestTokenPoliciesAsVaultDecides(t *testing.T) {
	root := &Token{Policies: []string{"root"}}
	withDefault := &Token{Policies: []string{"app", "default", "ops"}}
	without := &Token{Policies: []string{"app", "ops"}}
	for _, c := range []struct {
		name      string
		asked     []string
		parent    *Token
		noDefault bool
		want      []string
		err       string
	}{
		{"root adds default", []string{"ops", " App ", "ops"}, root, false, []string{"app", "default", "ops"}, ""},
		{"root, no default", []string{"app"}, root, true, []string{"app"}, ""},
		{"root, default asked but refused", []string{"app", "default"}, root, true, []string{"app"}, ""},
		{"inherits root", nil, root, false, []string{"root"}, ""},
		{"root beside others is root", []string{"app", "root"}, root, false, []string{"root"}, ""},
		{"inherits the parent's", nil, withDefault, false, []string{"app", "default", "ops"}, ""},
		{"inherits without default", nil, withDefault, true, []string{"app", "ops"}, ""},
		{"subset gets default from the parent", []string{"app"}, withDefault, false, []string{"app", "default"}, ""},
		{"subset of a parent without default", []string{"app"}, without, false, []string{"app"}, ""},
		{"default the parent lacks", []string{"default"}, without, false, nil, `"default" is not`},
		{"not a subset", []string{"admin"}, withDefault, false, nil, `"admin" is not`},
		{"root from a non-root parent", []string{"root"}, withDefault, false, nil, `"root" is not`},
	} {
		got, err := tokenPolicies(c.asked, c.parent, c.noDefault)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: want error %q, got %v %v", c.name, c.err, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v %v, want %v", c.name, got, err, c.want)
		}
	}
}

// The default policy exists from the start, cannot be deleted, can be
// rewritten, and what it grants every token that carries it may do.
func TestDefaultPolicy(t *testing.T) {
	v := newTestVault(t)
	if rec := call(v.h, "GET", "/v1/sys/policies/acl/default", v.root, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "auth/token/lookup-self") {
		t.Fatalf("read default: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "LIST", "/v1/sys/policies/acl", v.root, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"default"`) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "DELETE", "/v1/sys/policies/acl/default", v.root, ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), "cannot delete default policy") {
		t.Fatalf("delete default: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "POST", "/v1/secret/data/common", v.root, `{"data":{"k":"v"}}`); rec.Code != 200 {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	plain := createToken(t, v, v.root, `{"policies":["nothing-here"],"ttl":"1h"}`)
	bare := createToken(t, v, v.root, `{"policies":["nothing-here"],"ttl":"1h","no_default_policy":true}`)
	rec := call(v.h, "GET", "/v1/auth/token/lookup-self", plain.token, "")
	var look struct {
		Data struct {
			Policies []string `json:"policies"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &look); err != nil || !slices.Equal(look.Data.Policies, []string{"default", "nothing-here"}) {
		t.Fatalf("policies of a new token: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "GET", "/v1/secret/data/common", plain.token, ""); rec.Code != 403 {
		t.Fatalf("read before default grants it: %d %s", rec.Code, rec.Body)
	}
	hcl := defaultPolicyHCL + "\npath \"secret/data/common\" {\n  capabilities = [\"read\"]\n}\n"
	body, _ := json.Marshal(map[string]string{"policy": hcl})
	if rec := call(v.h, "PUT", "/v1/sys/policies/acl/default", v.root, string(body)); rec.Code != 204 {
		t.Fatalf("write default: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "GET", "/v1/secret/data/common", plain.token, ""); rec.Code != 200 {
		t.Fatalf("read granted by default: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "GET", "/v1/secret/data/common", bare.token, ""); rec.Code != 403 {
		t.Fatalf("a token without default read: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "GET", "/v1/sys/policies/acl/default", v.root, ""); !strings.Contains(rec.Body.String(), "secret/data/common") {
		t.Fatalf("read default after the write: %d %s", rec.Code, rec.Body)
	}
}

// capabilities-self lists a path's capabilities in the order Vault's ACL does.
func TestCapabilitiesInVaultsOrder(t *testing.T) {
	v := newTestVault(t)
	hcl := `path "secret/data/x" { capabilities = ["update", "read", "list", "create", "sudo"] }`
	body, _ := json.Marshal(map[string]string{"policy": hcl})
	if rec := call(v.h, "PUT", "/v1/sys/policies/acl/caps", v.root, string(body)); rec.Code != 204 {
		t.Fatalf("write: %d %s", rec.Code, rec.Body)
	}
	tok := createToken(t, v, v.root, `{"policies":["caps"],"ttl":"1h"}`)
	rec := call(v.h, "POST", "/v1/sys/capabilities-self", tok.token, `{"paths":["secret/data/x"]}`)
	var out struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	got, _ := json.Marshal(out.Data["secret/data/x"])
	if rec.Code != 200 || string(got) != `["sudo","read","list","update","create"]` {
		t.Fatalf("capabilities-self: %d %s", rec.Code, rec.Body)
	}
}

// Policy names are lower case, as Vault stores them: a policy written as
// MyApp is the myapp a token created with -policy=MyApp carries.
func TestPolicyNamesAreLowerCase(t *testing.T) {
	v := newTestVault(t)
	body, _ := json.Marshal(map[string]string{"policy": `path "secret/data/app/*" { capabilities = ["read"] }`})
	mustCall(t, v.h, "PUT", "/v1/sys/policies/acl/MyApp", v.root, string(body), 204)
	mustCall(t, v.h, "POST", "/v1/secret/data/app/db", v.root, `{"data":{"k":"v"}}`, 200)
	tok := createToken(t, v, v.root, `{"policies":["MyApp"],"ttl":"1h"}`)
	mustCall(t, v.h, "GET", "/v1/secret/data/app/db", tok.token, "", 200)
	if body := mustCall(t, v.h, "LIST", "/v1/sys/policies/acl", v.root, "", 200); !strings.Contains(string(body), `"myapp"`) {
		t.Fatalf("list: %s", body)
	}
	mustCall(t, v.h, "GET", "/v1/sys/policies/acl/MYAPP", v.root, "", 200)
}
