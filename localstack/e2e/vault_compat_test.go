package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	bao "github.com/openbao/openbao/api/v2"
)

// The HTTP calls OpenBao's and Vault's CLI make around the ones a user asked
// for, each made through OpenBao's API client as the CLI makes it: the KV
// preflight, sys/leader after every seal status, PATCH with a JSON merge
// patch, mount tuning, capabilities, the auth table, host info, and the
// token and KV metadata details a script notices.
func TestVaultCompat(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	for path, version := range map[string]string{"compat-kv": "2", "compat-kv1": "1"} {
		if err := root.Sys().MountWithContext(ctx, path, &bao.MountInput{Type: "kv", Options: map[string]string{"version": version}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("kv preflight", func(t *testing.T) { compatPreflight(t, root) })
	t.Run("leader", func(t *testing.T) {
		l, err := root.Sys().LeaderWithContext(ctx)
		if err != nil || l.HAEnabled {
			t.Fatalf("leader %+v %v", l, err)
		}
	})
	t.Run("patch data and metadata", func(t *testing.T) { compatPatch(t, root) })
	t.Run("tune", func(t *testing.T) { compatTune(t, root) })
	t.Run("capabilities", func(t *testing.T) { compatCapabilities(t, root) })
	t.Run("auth and host info", func(t *testing.T) {
		auths, err := root.Sys().ListAuthWithContext(ctx)
		if err != nil || auths["token/"] == nil || auths["token/"].Type != "token" {
			t.Fatalf("auth list %v %v", auths, err)
		}
		err = root.Sys().EnableAuthWithOptionsWithContext(ctx, "userpass", &bao.EnableAuthOptions{Type: "userpass"})
		if !hasStatus(err, 400) || !strings.Contains(err.Error(), "AppRole at approle/ only") {
			t.Fatalf("enable userpass: %v", err)
		}
		hi, err := root.Logical().ReadWithContext(ctx, "sys/host-info")
		if err != nil || hi == nil || hi.Data["host"].(map[string]any)["hostname"] == "" {
			t.Fatalf("host-info %v %v", hi, err)
		}
	})
	t.Run("hcl policies", func(t *testing.T) { compatHCLPolicies(t, root) })
	t.Run("tokens", func(t *testing.T) { compatTokens(t, root) })
	t.Run("kv metadata", func(t *testing.T) { compatMetadata(t, root) })
}

func compatPreflight(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	for path, version := range map[string]string{"compat-kv/app/db": "2", "compat-kv1/app/db": "1", "compat-kv": "2"} {
		s, err := root.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+path)
		if err != nil || s == nil {
			t.Fatalf("preflight %s: %v", path, err)
		}
		opts, _ := s.Data["options"].(map[string]any)
		if s.Data["type"] != "kv" || opts["version"] != version || s.Data["path"] != strings.SplitN(path, "/", 2)[0]+"/" {
			t.Fatalf("preflight %s: %v", path, s.Data)
		}
	}
	if _, err := root.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/no-such-mount/x"); !hasStatus(err, 403) {
		t.Fatalf("preflight of no mount: %v", err)
	}
	anon := baoClient(t, ep.Gateways["vault"], "")
	if _, err := anon.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/compat-kv/x"); !hasStatus(err, 403) {
		t.Fatalf("preflight without a token: %v", err)
	}
}

func compatPatch(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	kv := root.KVv2("compat-kv")
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "app", "password": "old", "opts": map[string]any{"a": "1", "b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().JSONMergePatch(ctx, "compat-kv/data/app/db", map[string]any{
		"data": map[string]any{"password": "new", "user": nil, "opts": map[string]any{"b": nil, "c": "3"}}}); err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	s, err := kv.Get(ctx, "app/db")
	if err != nil || s.VersionMetadata.Version != 2 || s.Data["password"] != "new" || s.Data["user"] != nil ||
		!equalJSON(s.Data["opts"], map[string]any{"a": "1", "c": "3"}) {
		t.Fatalf("after patch: %+v %v", s, err)
	}
	if _, err := kv.Patch(ctx, "app/db", map[string]any{"password": "newer"}); err != nil {
		t.Fatalf("client patch: %v", err)
	}
	if _, err := root.Logical().JSONMergePatch(ctx, "compat-kv/data/app/db", map[string]any{
		"data": map[string]any{"x": "y"}, "options": map[string]any{"cas": 1}}); !hasStatus(err, 400) {
		t.Fatalf("patch with a stale cas: %v", err)
	}
	if _, err := root.Logical().JSONMergePatch(ctx, "compat-kv/data/app/none", map[string]any{"data": map[string]any{"x": "y"}}); !hasStatus(err, 404) {
		t.Fatalf("patch of a missing secret: %v", err)
	}
	r := root.NewRequest(http.MethodPatch, "/v1/compat-kv/data/app/db")
	_ = r.SetJSONBody(map[string]any{"data": map[string]any{"x": "y"}})
	if resp, err := root.RawRequestWithContext(ctx, r); !hasStatus(err, 415) {
		t.Fatalf("patch without merge-patch content type: %v %v", resp, err)
	}
	if err := kv.PutMetadata(ctx, "app/db", bao.KVMetadataPutInput{CustomMetadata: map[string]any{"owner": "ops", "tier": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().JSONMergePatch(ctx, "compat-kv/metadata/app/db", map[string]any{
		"custom_metadata": map[string]any{"tier": nil, "team": "pay"}}); err != nil {
		t.Fatalf("metadata patch: %v", err)
	}
	m, err := kv.GetMetadata(ctx, "app/db")
	if err != nil || !equalJSON(m.CustomMetadata, map[string]any{"owner": "ops", "team": "pay"}) {
		t.Fatalf("after metadata patch: %+v %v", m, err)
	}
}

func compatTune(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	if err := root.Sys().TuneMountWithContext(ctx, "compat-kv", bao.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "2h"}); err != nil {
		t.Fatalf("tune: %v", err)
	}
	c, err := root.Sys().MountConfigWithContext(ctx, "compat-kv")
	if err != nil || c.DefaultLeaseTTL != 3600 || c.MaxLeaseTTL != 7200 {
		t.Fatalf("tuned config %+v %v", c, err)
	}
	mounts, err := root.Sys().ListMountsWithContext(ctx)
	if err != nil || mounts["compat-kv/"].Config.MaxLeaseTTL != 7200 {
		t.Fatalf("mounts after tune: %v", err)
	}
	err = root.Sys().TuneMountWithContext(ctx, "compat-kv", bao.MountConfigInput{ListingVisibility: "unauth"})
	if !hasStatus(err, 400) || !strings.Contains(err.Error(), "listing_visibility") {
		t.Fatalf("unsupported tune parameter: %v", err)
	}
	if err := root.Sys().TuneMountWithContext(ctx, "no-such-mount", bao.MountConfigInput{MaxLeaseTTL: "1h"}); !hasStatus(err, 400) {
		t.Fatalf("tune of no mount: %v", err)
	}
	// The tuned maximum caps what the mount issues, as Vault's PKI caps a
	// certificate's TTL at the mount's max_lease_ttl with a warning.
	if err := root.Sys().MountWithContext(ctx, "compat-pki", &bao.MountInput{Type: "pki"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().TuneMountWithContext(ctx, "compat-pki", bao.MountConfigInput{MaxLeaseTTL: "2h"}); err != nil {
		t.Fatal(err)
	}
	s, err := root.Logical().WriteWithContext(ctx, "compat-pki/root/generate/internal", map[string]any{"common_name": "compat", "ttl": "87600h"})
	if err != nil || s == nil {
		t.Fatalf("root generate: %v", err)
	}
	block, _ := pem.Decode([]byte(s.Data["certificate"].(string)))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.NotAfter.Sub(cert.NotBefore) > 3*time.Hour || !strings.Contains(strings.Join(s.Warnings, " "), "max_lease_ttl") {
		t.Fatalf("a root of ttl 87600h on a mount tuned to 2h: valid %v, warnings %v, %v", cert.NotAfter.Sub(cert.NotBefore), s.Warnings, err)
	}
}

func compatCapabilities(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	policy := `permit (principal, action in [Action::"read", Action::"list"], resource) when { resource.path like "compat-kv/data/app/*" };`
	if _, err := root.Logical().WriteWithContext(ctx, "sys/policies/cedar/compat-read", map[string]any{"policy": policy}); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"compat-read"}})
	if err != nil {
		t.Fatal(err)
	}
	app := baoClient(t, ep.Gateways["vault"], tok.Auth.ClientToken)
	for path, want := range map[string][]string{"compat-kv/data/app/db": {"list", "read"}, "compat-kv/data/other": {"deny"}} {
		got, err := app.Sys().CapabilitiesSelfWithContext(ctx, path)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("self capabilities on %s: %v %v", path, got, err)
		}
		got, err = root.Sys().CapabilitiesWithContext(ctx, tok.Auth.ClientToken, path)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("capabilities of the token on %s: %v %v", path, got, err)
		}
	}
	// A Cedar policy cannot be walked as paths: its token passes the KV preflight of any mount.
	if s, err := app.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/compat-kv/data/app/db"); err != nil || s == nil {
		t.Fatalf("preflight with a Cedar policy: %v %v", s, err)
	}
	if got, err := root.Sys().CapabilitiesSelfWithContext(ctx, "anything"); err != nil || !slices.Equal(got, []string{"root"}) {
		t.Fatalf("root capabilities: %v %v", got, err)
	}
	if _, err := app.Sys().CapabilitiesWithContext(ctx, "someone-else", "x"); !hasStatus(err, 403) {
		t.Fatalf("capabilities of another token without sys/capabilities: %v", err)
	}
}

func compatTokens(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	tk := root.Auth().Token()
	s, err := tk.CreateWithContext(ctx, &bao.TokenCreateRequest{TTL: "1h"})
	if err != nil || s.Auth.LeaseDuration != 3600 {
		t.Fatalf("ttl 1h: %+v %v", s, err)
	}
	look, err := tk.LookupWithContext(ctx, s.Auth.ClientToken)
	if ttl, _ := look.TokenTTL(); err != nil || ttl.Seconds() != 3600 {
		t.Fatalf("lookup ttl: %v %v", ttl, err)
	}
	if _, ok := look.Data["last_renewal_time"]; ok {
		t.Fatalf("a token never renewed has a last renewal: %v", look.Data)
	}
	before := time.Now().Unix()
	r, err := tk.RenewWithContext(ctx, s.Auth.ClientToken, 7200)
	if err != nil || r.Auth.LeaseDuration != 7200 {
		t.Fatalf("renew 2h: %+v %v", r, err)
	}
	lastRenewal(t, tk, s.Auth.ClientToken, before, time.Now().Unix())
	if r, err = tk.RenewWithContext(ctx, s.Auth.ClientToken, 0); err != nil || r.Auth.LeaseDuration != 7200 {
		t.Fatalf("renew without increment after a 2h renew: %+v %v", r, err)
	}
	p, err := tk.CreateWithContext(ctx, &bao.TokenCreateRequest{Period: "30m"})
	if err != nil || p.Auth.LeaseDuration != 1800 {
		t.Fatalf("periodic token: %+v %v", p, err)
	}
	look, err = tk.LookupWithContext(ctx, p.Auth.ClientToken)
	if err != nil || look.Data["period"] != json.Number("1800") {
		t.Fatalf("periodic lookup: %v %v", look, err)
	}
	if r, err = tk.RenewWithContext(ctx, p.Auth.ClientToken, 7200); err != nil || r.Auth.LeaseDuration != 1800 {
		t.Fatalf("periodic renew gives the period again: %+v %v", r, err)
	}
	// A period past the system maximum (768h) is capped to it, as in Vault.
	long, err := tk.CreateWithContext(ctx, &bao.TokenCreateRequest{Period: "876000h"})
	if err != nil || long.Auth.LeaseDuration != 768*3600 {
		t.Fatalf("a 100-year period: %+v %v", long, err)
	}
	if _, err := tk.LookupWithContext(ctx, "s.bogus"); !hasStatus(err, 403) {
		t.Fatalf("lookup of a bogus token: %v", err)
	}
}

func compatMetadata(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	kv := root.KVv2("compat-kv")
	for i := range 3 {
		if _, err := kv.Put(ctx, "meta/k", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	raw := func() map[string]any {
		s, err := root.Logical().ReadWithContext(ctx, "compat-kv/metadata/meta/k")
		if err != nil || s == nil {
			t.Fatalf("metadata: %v", err)
		}
		return s.Data
	}
	m := raw()
	if m["oldest_version"] != json.Number("0") || m["current_metadata_version"] != json.Number("0") || m["metadata_cas_required"] != false {
		t.Fatalf("fresh metadata: %v", m)
	}
	if err := kv.PutMetadata(ctx, "meta/k", bao.KVMetadataPutInput{MaxVersions: 2}); err != nil {
		t.Fatal(err)
	}
	if m = raw(); len(m["versions"].(map[string]any)) != 3 || m["current_metadata_version"] != json.Number("1") {
		t.Fatalf("max_versions lowered trims on the next write, not now: %v", m)
	}
	if _, err := kv.Put(ctx, "meta/k", map[string]any{"n": 3}); err != nil {
		t.Fatal(err)
	}
	if m = raw(); len(m["versions"].(map[string]any)) != 2 || m["oldest_version"] != json.Number("3") {
		t.Fatalf("after the next write: %v", m)
	}
	if _, err := root.Logical().WriteWithContext(ctx, "compat-kv/metadata/meta/k", map[string]any{"cas": 0, "max_versions": 5}); !hasStatus(err, 400) {
		t.Fatalf("metadata write with a stale cas: %v", err)
	}
	if _, err := root.Logical().WriteWithContext(ctx, "compat-kv/metadata/meta/k", map[string]any{"cas": 1, "metadata_cas_required": true}); err != nil {
		t.Fatalf("metadata write with cas: %v", err)
	}
	if _, err := root.Logical().WriteWithContext(ctx, "compat-kv/metadata/meta/k", map[string]any{"max_versions": 5}); !hasStatus(err, 400) {
		t.Fatalf("metadata write without the required cas: %v", err)
	}
	// `kv delete|undelete -versions=4` send the versions as strings.
	for _, op := range []string{"delete", "undelete"} {
		if _, err := root.Logical().WriteWithContext(ctx, "compat-kv/"+op+"/meta/k", map[string]any{"versions": []string{"4"}}); err != nil {
			t.Fatalf("%s with string versions: %v", op, err)
		}
	}
	if s, err := kv.GetVersion(ctx, "meta/k", 4); err != nil || s.Data["n"] != json.Number("3") {
		t.Fatalf("version 4 after delete and undelete: %+v %v", s, err)
	}
}

// equalJSON compares two values as JSON.
func equalJSON(a, b any) bool {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	return string(ra) == string(rb)
}

// An HCL policy through sys/policies/acl, as `bao policy write|read|list`
// send it: stored as Cedar, read back as HCL, and deciding requests and
// `token capabilities` alike.
// compatMountAccess: the KV preflight answers only for a mount the token
// has some capability under, as OpenBao's hasMountAccess.
func compatMountAccess(t *testing.T, app *bao.Client) {
	ctx := context.Background()
	if s, err := app.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/compat-kv/hcl/app"); err != nil || s == nil || s.Data["path"] != "compat-kv/" {
		t.Fatalf("preflight of a mount the policy reaches: %v %v", s, err)
	}
	if _, err := app.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/compat-kv1/x"); !hasStatus(err, 403) {
		t.Fatalf("preflight of a mount the policy does not reach: %v", err)
	}
}

// compatPoliciesTogether: a second HCL policy's more specific path narrows
// the first's, as Vault decides a token's policies together.
func compatPoliciesTogether(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	if err := root.Sys().PutPolicyWithContext(ctx, "compat-narrow", `path "compat-kv/data/hcl/ro" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"compat-hcl", "compat-narrow"}})
	if err != nil {
		t.Fatal(err)
	}
	both := baoClient(t, ep.Gateways["vault"], tok.Auth.ClientToken)
	for path, want := range map[string][]string{"compat-kv/data/hcl/ro": {"read"}, "compat-kv/data/hcl/rw": {"create", "read", "update"}} {
		got, err := both.Sys().CapabilitiesSelfWithContext(ctx, path)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("two policies, capabilities on %s: %v %v, want %v", path, got, err, want)
		}
	}
	if _, err := both.KVv2("compat-kv").Put(ctx, "hcl/ro", map[string]any{"k": "v"}); !hasStatus(err, 403) {
		t.Fatalf("write narrowed by the second policy: %v", err)
	}
	many := make([]string, 129)
	for i := range many {
		many[i] = fmt.Sprintf("compat-kv/data/p%d", i)
	}
	if _, err := both.Logical().WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": many}); !hasStatus(err, 400) || !strings.Contains(err.Error(), "at most 128 paths") {
		t.Fatalf("capabilities of 129 paths: %v", err)
	}
}

func compatHCLPolicies(t *testing.T, root *bao.Client) {
	ctx := context.Background()
	hcl := `path "compat-kv/data/hcl/*" { capabilities = ["create", "read", "update"] }
path "compat-kv/data/hcl/locked" { capabilities = ["deny"] }
path "compat-kv/metadata/+/open" { capabilities = ["list", "read"] }
`
	if err := root.Sys().PutPolicyWithContext(ctx, "compat-hcl", hcl); err != nil {
		t.Fatalf("policy write: %v", err)
	}
	if got, err := root.Sys().GetPolicyWithContext(ctx, "compat-hcl"); err != nil || got != hcl {
		t.Fatalf("policy read gives %q %v", got, err)
	}
	if names, err := root.Sys().ListPoliciesWithContext(ctx); err != nil || !slices.Contains(names, "compat-hcl") {
		t.Fatalf("policy list: %v %v", names, err)
	}
	tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"compat-hcl"}})
	if err != nil {
		t.Fatal(err)
	}
	app := baoClient(t, ep.Gateways["vault"], tok.Auth.ClientToken)
	kv := app.KVv2("compat-kv")
	if _, err := kv.Put(ctx, "hcl/app", map[string]any{"k": "v"}); err != nil {
		t.Fatalf("write allowed by the HCL policy: %v", err)
	}
	if _, err := kv.Put(ctx, "hcl/locked", map[string]any{"k": "v"}); !hasStatus(err, 403) {
		t.Fatalf("write denied by the HCL policy: %v", err)
	}
	if _, err := kv.Put(ctx, "other", map[string]any{"k": "v"}); !hasStatus(err, 403) {
		t.Fatalf("write outside the HCL policy: %v", err)
	}
	for path, want := range map[string][]string{"compat-kv/data/hcl/app": {"create", "read", "update"},
		"compat-kv/data/hcl/locked": {"deny"}, "compat-kv/metadata/x/open": {"list", "read"}, "compat-kv/metadata/x/y/open": {"deny"}} {
		got, err := app.Sys().CapabilitiesSelfWithContext(ctx, path)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("capabilities on %s: %v %v, want %v", path, got, err, want)
		}
	}
	err = root.Sys().PutPolicyWithContext(ctx, "compat-bad", `path "x" { capabilities = ["create"]
  allowed_parameters = { "a" = [] } }`)
	if !hasStatus(err, 400) || !strings.Contains(err.Error(), "allowed_parameters") {
		t.Fatalf("unsupported stanza: %v", err)
	}
	compatMountAccess(t, app)
	compatPoliciesTogether(t, root)
	for _, name := range []string{"default", "root"} {
		if err := root.Sys().DeletePolicyWithContext(ctx, name); !hasStatus(err, 400) || !strings.Contains(err.Error(), "cannot delete") {
			t.Fatalf("delete the %s policy: %v", name, err)
		}
	}
	var big strings.Builder
	for i := range 300 {
		fmt.Fprintf(&big, "path \"compat-kv/data/p%d\" { capabilities = [\"read\"] }\n", i)
	}
	if err := root.Sys().PutPolicyWithContext(ctx, "compat-big", big.String()); !hasStatus(err, 400) || !strings.Contains(err.Error(), "path blocks") {
		t.Fatalf("a policy of 300 path blocks: %v", err)
	}
	if err := root.Sys().DeletePolicyWithContext(ctx, "compat-hcl"); err != nil {
		t.Fatalf("policy delete: %v", err)
	}
}

// lastRenewal checks a renewed token's lookup carries OpenBao's
// last_renewal_time (Unix seconds, between from and to) and last_renewal
// (the same instant, RFC 3339).
func lastRenewal(t *testing.T, tk *bao.TokenAuth, token string, from, to int64) {
	t.Helper()
	look, err := tk.LookupWithContext(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := look.Data["last_renewal_time"].(json.Number)
	secs, err := n.Int64()
	if err != nil || secs < from || secs > to {
		t.Fatalf("last_renewal_time %v, want between %d and %d: %v", look.Data["last_renewal_time"], from, to, err)
	}
	s, _ := look.Data["last_renewal"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || at.Unix() != secs {
		t.Fatalf("last_renewal %q, want the time %d: %v", s, secs, err)
	}
}
