package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hcvault "github.com/hashicorp/vault/api"
	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The vault is judged by Vault's own clients: OpenBao's api/v2 and HashiCorp's
// vault/api, pointed at the vault gateway as at a Vault server.
func TestVault(t *testing.T) {
	addr := ep.Gateways["vault"]
	if addr == "" {
		t.Fatal("no vault gateway in the endpoints")
	}
	root := baoClient(t, addr, "")
	ctx := context.Background()
	init := initVault(t)
	if len(init.Keys) != 5 || len(init.KeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("init response %+v", init)
	}
	// Another test may have unsealed the suite's vault: seal it to watch the threshold.
	if st, err := root.Sys().SealStatusWithContext(ctx); err != nil || !st.Sealed {
		if err := baoClient(t, addr, init.RootToken).Sys().SealWithContext(ctx); err != nil {
			t.Fatalf("seal before the threshold test: %v %v", st, err)
		}
	}
	unseal := func(t *testing.T) {
		t.Helper()
		for i, k := range init.Keys[:3] {
			st, err := root.Sys().UnsealWithContext(ctx, k)
			if err != nil {
				t.Fatalf("unseal %d: %v", i, err)
			}
			if st.Sealed != (i < 2) || st.T != 3 || st.N != 5 {
				t.Fatalf("after %d shares: %+v", i+1, st)
			}
		}
	}
	t.Run("sealed until the threshold", func(t *testing.T) {
		if _, err := root.Logical().ReadWithContext(ctx, "secret/data/x"); !hasStatus(err, 503) {
			t.Fatalf("before unseal: %v", err)
		}
		unseal(t)
		h, err := root.Sys().HealthWithContext(ctx)
		if err != nil || !h.Initialized || h.Sealed {
			t.Fatalf("health %+v %v", h, err)
		}
	})
	root.SetToken(init.RootToken)
	t.Run("kv v2 with the OpenBao client", func(t *testing.T) {
		if err := root.Sys().MountWithContext(ctx, "secret", &bao.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			t.Fatal(err)
		}
		kv := root.KVv2("secret")
		if _, err := kv.Put(ctx, "app/db", map[string]any{"password": "hunter2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "app/db", map[string]any{"password": "correct horse"}); err != nil {
			t.Fatal(err)
		}
		s, err := kv.Get(ctx, "app/db")
		if err != nil || s.Data["password"] != "correct horse" || s.VersionMetadata.Version != 2 {
			t.Fatalf("get: %+v %v", s, err)
		}
		v1, err := kv.GetVersion(ctx, "app/db", 1)
		if err != nil || v1.Data["password"] != "hunter2" {
			t.Fatalf("version 1: %+v %v", v1, err)
		}
		if err := kv.Delete(ctx, "app/db"); err != nil {
			t.Fatal(err)
		}
		// Vault answers a soft-deleted version with 404 and its metadata; the
		// clients turn that into a secret with no data and a deletion time.
		if s, err := kv.Get(ctx, "app/db"); err != nil || s.Data != nil || s.VersionMetadata.DeletionTime.IsZero() {
			t.Fatalf("a soft-deleted version: %+v %v", s, err)
		}
		if err := kv.Undelete(ctx, "app/db", []int{2}); err != nil {
			t.Fatal(err)
		}
		if s, err := kv.Get(ctx, "app/db"); err != nil || s.Data["password"] != "correct horse" {
			t.Fatalf("after undelete: %+v %v", s, err)
		}
		if err := kv.Destroy(ctx, "app/db", []int{1}); err != nil {
			t.Fatal(err)
		}
		meta, err := kv.GetMetadata(ctx, "app/db")
		if err != nil || meta.CurrentVersion != 2 || len(meta.Versions) != 2 || !meta.Versions["1"].Destroyed {
			t.Fatalf("metadata %+v %v", meta, err)
		}
		// check-and-set
		if _, err := kv.Put(ctx, "app/db", map[string]any{"a": "b"}, bao.WithCheckAndSet(1)); err == nil ||
			!strings.Contains(err.Error(), "check-and-set parameter did not match the current version") {
			t.Fatalf("cas mismatch: %v", err)
		}
		if _, err := kv.Put(ctx, "app/db", map[string]any{"a": "b"}, bao.WithCheckAndSet(2)); err != nil {
			t.Fatalf("cas match: %v", err)
		}
		list, err := root.Logical().ListWithContext(ctx, "secret/metadata/app")
		if err != nil || list == nil || len(list.Data["keys"].([]any)) != 1 {
			t.Fatalf("list %+v %v", list, err)
		}
	})
	t.Run("kv v2 with the HashiCorp client, and kv v1", func(t *testing.T) {
		hc := hcClient(t, addr, init.RootToken)
		if _, err := hc.KVv2("secret").Put(ctx, "hc/item", map[string]any{"k": "v"}); err != nil {
			t.Fatal(err)
		}
		s, err := hc.KVv2("secret").Get(ctx, "hc/item")
		if err != nil || s.Data["k"] != "v" {
			t.Fatalf("hashicorp get: %+v %v", s, err)
		}
		if err := hc.Sys().Mount("kv1", &hcvault.MountInput{Type: "kv"}); err != nil {
			t.Fatal(err)
		}
		if err := hc.KVv1("kv1").Put(ctx, "plain", map[string]any{"x": "1"}); err != nil {
			t.Fatal(err)
		}
		got, err := hc.KVv1("kv1").Get(ctx, "plain")
		if err != nil || got.Data["x"] != "1" {
			t.Fatalf("kv v1: %+v %v", got, err)
		}
	})
	t.Run("tokens with Cedar policies", func(t *testing.T) {
		text, err := os.ReadFile("../../schemas/cedar/vault/examples/read-only-app.cedar")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().WriteWithContext(ctx, "sys/policies/cedar/app-read-only", map[string]any{"policy": string(text)}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().WriteWithContext(ctx, "sys/policies/cedar/broken", map[string]any{"policy": "permit (principal, action, resource) when { resource.nope };"}); !hasStatus(err, 400) {
			t.Fatalf("a policy that does not match the schema: %v", err)
		}
		creator := `@id("create-child-tokens") permit (principal, action == Action::"update", resource == Path::"auth/token/create");`
		if _, err := root.Logical().WriteWithContext(ctx, "sys/policies/cedar/token-creator", map[string]any{"policy": creator}); err != nil {
			t.Fatal(err)
		}
		sec, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"app-read-only", "token-creator"}, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		app := baoClient(t, addr, sec.Auth.ClientToken)
		if s, err := app.KVv2("secret").Get(ctx, "app/db"); err != nil || s.Data["a"] != "b" {
			t.Fatalf("allowed read: %+v %v", s, err)
		}
		if _, err := app.KVv2("secret").Put(ctx, "app/db", map[string]any{"x": "y"}); !hasStatus(err, 403) {
			t.Fatalf("write with a read-only policy: %v", err)
		}
		if _, err := app.KVv2("secret").Get(ctx, "hc/item"); !hasStatus(err, 403) {
			t.Fatalf("read outside the policy: %v", err)
		}
		self, err := app.Auth().Token().LookupSelfWithContext(ctx)
		if err != nil || self.Data["display_name"] != "token" || self.Data["accessor"] != sec.Auth.Accessor {
			t.Fatalf("lookup-self %+v %v", self, err)
		}
		// A child dies with its parent.
		child, err := app.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"app-read-only"}})
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		if _, err := app.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"root"}}); !hasStatus(err, 400) {
			t.Fatalf("a non-root token minting a root token: %v", err)
		}
		if _, err := baoClient(t, addr, child.Auth.ClientToken).Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{}); !hasStatus(err, 403) {
			t.Fatalf("a child without token-creator creating a token: %v", err)
		}
		if err := root.Auth().Token().RevokeTreeWithContext(ctx, sec.Auth.ClientToken); err != nil {
			t.Fatal(err)
		}
		if _, err := baoClient(t, addr, child.Auth.ClientToken).Auth().Token().LookupSelfWithContext(ctx); !hasStatus(err, 403) {
			t.Fatalf("child after the parent's revocation: %v", err)
		}
		if _, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Period: "soon"}); !hasStatus(err, 400) {
			t.Fatalf("a period that is no duration must be refused, not ignored: %v", err)
		}
		// accessors: look up and revoke a token without knowing it
		byAcc, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"app-read-only"}})
		if err != nil {
			t.Fatal(err)
		}
		info, err := root.Auth().Token().LookupAccessorWithContext(ctx, byAcc.Auth.Accessor)
		if err != nil || info.Data["accessor"] != byAcc.Auth.Accessor || info.Data["id"] != nil {
			t.Fatalf("lookup-accessor (must not reveal the token): %+v %v", info, err)
		}
		if err := root.Auth().Token().RevokeAccessorWithContext(ctx, byAcc.Auth.Accessor); err != nil {
			t.Fatal(err)
		}
		if _, err := baoClient(t, addr, byAcc.Auth.ClientToken).Auth().Token().LookupSelfWithContext(ctx); !hasStatus(err, 403) {
			t.Fatalf("token after revoke-accessor: %v", err)
		}
		// num_uses and ttl
		limited, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"app-read-only"}, NumUses: 2})
		if err != nil {
			t.Fatal(err)
		}
		lc := baoClient(t, addr, limited.Auth.ClientToken)
		for i := range 2 {
			if _, err := lc.KVv2("secret").Get(ctx, "app/db"); err != nil {
				t.Fatalf("use %d: %v", i+1, err)
			}
		}
		if _, err := lc.KVv2("secret").Get(ctx, "app/db"); !hasStatus(err, 403) {
			t.Fatalf("third use of a 2-use token: %v", err)
		}
		short, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"app-read-only"}, TTL: "1s"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if _, err := baoClient(t, addr, short.Auth.ClientToken).KVv2("secret").Get(ctx, "app/db"); !hasStatus(err, 403) {
			t.Fatalf("expired token: %v", err)
		}
	})
	t.Run("kv v2 metadata limits, renewal and tag-based policies", func(t *testing.T) {
		kv := root.KVv2("secret")
		if err := kv.PutMetadata(ctx, "limited", bao.KVMetadataPutInput{MaxVersions: 2, CASRequired: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "limited", map[string]any{"v": "1"}); err == nil || !strings.Contains(err.Error(), "check-and-set parameter required") {
			t.Fatalf("cas_required: %v", err)
		}
		for i := range 3 {
			if _, err := kv.Put(ctx, "limited", map[string]any{"v": i}, bao.WithCheckAndSet(i)); err != nil {
				t.Fatalf("write %d: %v", i+1, err)
			}
		}
		meta, err := kv.GetMetadata(ctx, "limited")
		if err != nil || meta.CurrentVersion != 3 || meta.OldestVersion != 2 || len(meta.Versions) != 2 {
			t.Fatalf("max_versions 2 after 3 writes: %+v %v", meta, err)
		}
		if _, err := kv.GetVersion(ctx, "limited", 1); err == nil {
			t.Fatal("a pruned version still reads")
		}
		if err := kv.PutMetadata(ctx, "expiring", bao.KVMetadataPutInput{DeleteVersionAfter: time.Second}); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "expiring", map[string]any{"v": "soon gone"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1200 * time.Millisecond)
		if s, err := kv.Get(ctx, "expiring"); err != nil || s.Data != nil {
			t.Fatalf("after delete_version_after: %+v %v", s, err)
		}

		// mount-level config
		if err := root.Sys().MountWithContext(ctx, "cfgtest", &bao.MountInput{Type: "kv-v2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().WriteWithContext(ctx, "cfgtest/config", map[string]any{"max_versions": 3, "delete_version_after": "1h"}); err != nil {
			t.Fatal(err)
		}
		cfg, err := root.Logical().ReadWithContext(ctx, "cfgtest/config")
		if err != nil || cfg.Data["max_versions"] != json.Number("3") || cfg.Data["delete_version_after"] != "1h0m0s" || cfg.Data["cas_required"] != false {
			t.Fatalf("config: %+v %v", cfg, err)
		}
		if _, err := root.Logical().WriteWithContext(ctx, "cfgtest/config", map[string]any{"max_versions": -1}); !hasStatus(err, 400) {
			t.Fatalf("negative max_versions: %v", err)
		}
		sec, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{TTL: "10m", ExplicitMaxTTL: "20m"})
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := baoClient(t, addr, sec.Auth.ClientToken).Auth().Token().RenewSelfWithContext(ctx, 3600)
		if err != nil || renewed.Auth.LeaseDuration > 1200 || renewed.Auth.LeaseDuration < 1100 {
			t.Fatalf("renew is capped by explicit_max_ttl (20m): %+v %v", renewed, err)
		}

		team, err := os.ReadFile("../../schemas/cedar/vault/examples/team-prefix.cedar")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().WriteWithContext(ctx, "sys/policies/cedar/team-payments", map[string]any{"policy": string(team)}); err != nil {
			t.Fatal(err)
		}
		member, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"team-payments"},
			Metadata: map[string]string{"team": "payments"}})
		if err != nil {
			t.Fatal(err)
		}
		outsider, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"team-payments"},
			Metadata: map[string]string{"team": "search"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := baoClient(t, addr, member.Auth.ClientToken).KVv2("secret").Put(ctx, "teams/payments/stripe", map[string]any{"k": "v"}); err != nil {
			t.Fatalf("team member in its prefix: %v", err)
		}
		if _, err := baoClient(t, addr, member.Auth.ClientToken).KVv2("secret").Put(ctx, "teams/search/x", map[string]any{"k": "v"}); !hasStatus(err, 403) {
			t.Fatalf("team member outside its prefix: %v", err)
		}
		if _, err := baoClient(t, addr, outsider.Auth.ClientToken).KVv2("secret").Get(ctx, "teams/payments/stripe"); !hasStatus(err, 403) {
			t.Fatalf("a token tagged with another team: %v", err)
		}
	})
	t.Run("audit: HMAC'd entries in a hash chain that detects tampering", func(t *testing.T) {
		if err := root.Sys().EnableAuditWithOptionsWithContext(ctx, "chain", &bao.EnableAuditOptions{Type: "surrealdb"}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.KVv2("secret").Put(ctx, "audited", map[string]any{"pin": "plaintext-4711", "code": 4711321, "admin": true}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.KVv2("secret").Get(ctx, "audited"); err != nil {
			t.Fatal(err)
		}
		verify := func() map[string]any {
			t.Helper()
			rep, err := root.Logical().ReadWithContext(ctx, "sys/audit-verify")
			if err != nil {
				t.Fatal(err)
			}
			return rep.Data
		}
		// The put's and the get's request and response, and the request of
		// audit-verify itself (logged before it runs).
		if rep := verify(); rep["valid"] != true || rep["entries"] != json.Number("5") {
			t.Fatalf("verify: %v", rep)
		}
		hashed, err := root.Logical().WriteWithContext(ctx, "sys/audit-hash/chain", map[string]any{"input": "plaintext-4711"})
		if err != nil {
			t.Fatal(err)
		}
		db := surrealClient(t, "secretumvault")
		log, err := surreal.Query[[]string](ctx, db, "RETURN (SELECT entry, seq FROM audit_log ORDER BY seq).entry", nil)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(log, "\n")
		for _, clear := range []string{"plaintext-4711", init.RootToken, "4711321", `"admin":true`} {
			if strings.Contains(all, clear) {
				t.Fatalf("%s is in the audit log in clear", clear)
			}
		}
		if !strings.Contains(all, hashed.Data["hash"].(string)) {
			t.Fatalf("audit-hash %v does not match the logged value", hashed.Data["hash"])
		}
		if _, err := surreal.Query[any](ctx, db, "UPDATE (SELECT VALUE id FROM audit_log WHERE seq = 1 LIMIT 1)[0] SET entry = string::replace(entry, 'request', 'REQUEST')", nil); err != nil {
			t.Fatal(err)
		}
		if rep := verify(); rep["valid"] != false || !strings.Contains(rep["problem"].(string), "/1 was modified") {
			t.Fatalf("an edited entry: %v", rep)
		}
		if err := root.Sys().DisableAuditWithContext(ctx, "chain"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			method, path, token, body string
			status                    int
		}{
			{"GET", "/v1/nowhere/x", init.RootToken, "", 404},
			{"GET", "/v1/secret/data/app/db", "", "", 403},
			{"GET", "/v1/secret/data/app/db", "s.not-a-real-token", "", 403},
			{"POST", "/v1/secret/data/bad", init.RootToken, `{"data":`, 400},
			{"POST", "/v1/secret/data/big", init.RootToken, `{"data":{"v":"` + strings.Repeat("x", 2<<20) + `"}}`, 413},
			{"PATCH", "/v1/secret/config", init.RootToken, "", 405},
			{"PUT", "/v1/sys/init", "", `{"secret_shares":1,"secret_threshold":1}`, 400},
		} {
			req, _ := http.NewRequest(c.method, addr+c.path, strings.NewReader(c.body))
			if c.token != "" {
				req.Header.Set("X-Vault-Token", c.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Errorf("%s %s: %d, want %d", c.method, c.path, res.StatusCode, c.status)
			}
		}
	})
	t.Run("seal stops every secret path", func(t *testing.T) {
		if err := root.Sys().SealWithContext(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"secret/data/app/db", "kv1/plain", "auth/token/lookup-self"} {
			_, err := root.Logical().ReadWithContext(ctx, p)
			if !hasStatus(err, 503) || !strings.Contains(err.Error(), "Vault is sealed") {
				t.Errorf("%s while sealed: %v", p, err)
			}
		}
		if _, err := root.Sys().UnsealWithContext(ctx, "not a key"); !hasStatus(err, 400) {
			t.Fatalf("a malformed unseal key: %v", err)
		}
		unseal(t)
		if s, err := root.KVv2("secret").Get(ctx, "app/db"); err != nil || s.Data["a"] != "b" {
			t.Fatalf("after unsealing again: %+v %v", s, err)
		}
	})
}

// TestVaultRestart restarts the devstack on the same data between a write and a
// read: the data is there, and the vault comes back unsealed (its root key is
// KMS-wrapped, auto-unseal style) unless it was sealed by hand, in which case
// it stays sealed until unsealed with the key shares.
func TestVaultRestart(t *testing.T) {
	if dev == nil {
		t.Skip("the devstack belongs to someone else: it cannot be restarted")
	}
	ctx := context.Background()
	init := initVault(t)
	c := baoClient(t, ep.Gateways["vault"], init.RootToken)
	unsealVault(t, c, init)
	if err := c.Sys().MountWithContext(ctx, "restart", &bao.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVv2("restart").Put(ctx, "marker", map[string]any{"v": "before restart"}); err != nil {
		t.Fatal(err)
	}
	restart := func() *bao.Client {
		t.Helper()
		if err := dev.stop(); err != nil {
			t.Fatal(err)
		}
		if err := dev.start(); err != nil {
			t.Fatal(err)
		}
		return baoClient(t, ep.Gateways["vault"], init.RootToken)
	}
	c = restart()
	st, err := c.Sys().SealStatusWithContext(ctx)
	if err != nil || st.Sealed {
		t.Fatalf("after a restart: %+v %v (want auto-unsealed through KMS)", st, err)
	}
	if s, err := c.KVv2("restart").Get(ctx, "marker"); err != nil || s.Data["v"] != "before restart" {
		t.Fatalf("read after restart: %+v %v", s, err)
	}
	if err := c.Sys().SealWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	c = restart()
	if st, err := c.Sys().SealStatusWithContext(ctx); err != nil || !st.Sealed {
		t.Fatalf("sealed by hand, then restarted: %+v %v", st, err)
	}
	unsealVault(t, c, init)
	if s, err := c.KVv2("restart").Get(ctx, "marker"); err != nil || s.Data["v"] != "before restart" {
		t.Fatalf("read after unseal: %+v %v", s, err)
	}
}

// vaultInit is the suite's vault: initialised once (5 shares, threshold 3).
var vaultInit *bao.InitResponse

func initVault(t *testing.T) *bao.InitResponse {
	t.Helper()
	if vaultInit == nil {
		res, err := baoClient(t, ep.Gateways["vault"], "").Sys().Init(&bao.InitRequest{SecretShares: 5, SecretThreshold: 3})
		if err != nil {
			t.Fatalf("init: %v", err)
		}
		vaultInit = res
	}
	return vaultInit
}

func unsealVault(t *testing.T, c *bao.Client, init *bao.InitResponse) {
	t.Helper()
	for _, k := range init.Keys[:3] {
		if _, err := c.Sys().Unseal(k); err != nil {
			t.Fatalf("unseal: %v", err)
		}
	}
}

// surrealClient connects to the stack's SurrealDB as an operator would, to
// tamper with what the vault stored.
func surrealClient(t *testing.T, database string) *surreal.Client {
	t.Helper()
	if !own {
		t.Skip("no direct access to the target's SurrealDB")
	}
	c := surreal.New(surreal.Config{URL: ep.Surreal, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: database}, nil)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func baoClient(t *testing.T, addr, token string) *bao.Client {
	t.Helper()
	cfg := bao.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := bao.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func hcClient(t *testing.T, addr, token string) *hcvault.Client {
	t.Helper()
	cfg := hcvault.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := hcvault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func hasStatus(err error, status int) bool {
	var re *bao.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

// Sixteen clients write one secret ten times each, blind: as in Vault, every
// write succeeds and is a version of its own with its own value, in both
// devstack modes (under --lambda-runtime vault-secrets runs as several
// processes, as Lambda instances do). Then eight writers race with the same
// cas each round: exactly one wins. A 3-use token hit by 20 requests at once
// serves at most 3. The audit chain, if enabled, still verifies.
func TestVaultConcurrentWritesToOneSecret(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	mount := strings.ToLower(unique("race"))
	if err := root.Sys().MountWithContext(ctx, mount, &bao.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, root.Logical(), mount+"/metadata/hot", map[string]any{"max_versions": 200})
	var wg sync.WaitGroup
	written := make(chan string, 160)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				v := fmt.Sprint(g, "/", i)
				if _, err := root.KVv2(mount).Put(ctx, "hot", map[string]any{"v": v}); err != nil {
					t.Errorf("blind write %s: %v", v, err)
					continue
				}
				written <- v
			}
		}()
	}
	wg.Wait()
	close(written)
	want := map[string]bool{}
	for v := range written {
		want[v] = true
	}
	meta, err := root.KVv2(mount).GetMetadata(ctx, "hot")
	if err != nil || len(want) != 160 || meta.CurrentVersion != 160 {
		t.Fatalf("%d writes acknowledged, current_version %d: %v", len(want), meta.CurrentVersion, err)
	}
	for version := 1; version <= 160; version++ {
		s, err := root.KVv2(mount).GetVersion(ctx, "hot", version)
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		v, _ := s.Data["v"].(string)
		if !want[v] {
			t.Fatalf("version %d holds %q: not written, or held by another version too", version, v)
		}
		delete(want, v)
	}
	casRounds(t, root, mount)
	limitedUses(t, root, mount)
	auditStillVerifies(t, root)
}

// casRounds: eight writers with the same cas per round; one wins, the others
// get Vault's 400.
func casRounds(t *testing.T, root *bao.Client, mount string) {
	ctx := context.Background()
	for round := range 5 {
		meta, err := root.KVv2(mount).GetMetadata(ctx, "hot")
		if err != nil {
			t.Fatal(err)
		}
		var wins, refused atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := root.Logical().WriteWithContext(ctx, mount+"/data/hot",
					map[string]any{"data": map[string]any{"v": fmt.Sprint("cas ", round, g)}, "options": map[string]any{"cas": meta.CurrentVersion}})
				switch {
				case err == nil:
					wins.Add(1)
				case hasStatus(err, 400) && strings.Contains(err.Error(), "check-and-set parameter did not match"):
					refused.Add(1)
				default:
					t.Errorf("cas round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || refused.Load() != 7 {
			t.Fatalf("cas round %d: %d winners, %d refused; want 1 and 7", round, wins.Load(), refused.Load())
		}
	}
}

// limitedUses: a token with num_uses 3 hit by 20 requests at once serves at most 3.
func limitedUses(t *testing.T, root *bao.Client, mount string) {
	ctx := context.Background()
	mustWrite(t, root.Logical(), "sys/policies/cedar/race-read", map[string]any{"policy": `permit (principal, action == Action::"read", resource) when { resource.path like "` + mount + `/*" };`})
	tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"race-read"}, NumUses: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := baoClient(t, ep.Gateways["vault"], tok.Auth.ClientToken)
	var served, denied atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.KVv2(mount).Get(ctx, "hot")
			switch {
			case err == nil:
				served.Add(1)
			case hasStatus(err, 403):
				denied.Add(1)
			default:
				t.Errorf("limited token: %v", err)
			}
		}()
	}
	wg.Wait()
	if served.Load() > 3 || served.Load()+denied.Load() != 20 {
		t.Fatalf("a 3-use token served %d of 20 requests (%d denied)", served.Load(), denied.Load())
	}
}

// auditStillVerifies checks the chain when an audit device is on.
func auditStillVerifies(t *testing.T, root *bao.Client) {
	devices, err := root.Sys().ListAuditWithContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) == 0 {
		return
	}
	rep, err := root.Logical().ReadWithContext(context.Background(), "sys/audit-verify")
	if err != nil || rep.Data["valid"] != true {
		t.Fatalf("audit chain after the races: %v %v", rep, err)
	}
}
