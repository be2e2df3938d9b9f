package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

// The CLI against a devstack in this process, as a person would use it.
func TestVaultCLI(t *testing.T) {
	ctx := context.Background()
	stack, err := devstack.Start(ctx, devstack.Config{Memory: true, EphemeralPorts: true, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	addr := stack.Endpoints().Gateways["vault"]
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", "")
	var stderr bytes.Buffer
	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		stderr.Reset()
		cmd := rootCommand()
		cmd.SetArgs(vaultArgs(cmd, append([]string{"vault"}, args...)))
		cmd.SetOut(&out)
		cmd.SetErr(&stderr)
		cmd.SetIn(strings.NewReader(stdin))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := run(stdin, args...)
		if err != nil {
			t.Fatalf("stratum vault %v: %v\n%s", args, err, out)
		}
		return out
	}
	out := must("", "operator", "init", "-key-shares=3", "-key-threshold", "2") // Vault's single-dash flags, as the README writes them
	keys := regexp.MustCompile(`Unseal Key \d: (\S+)`).FindAllStringSubmatch(out, -1)
	root := regexp.MustCompile(`Initial Root Token: (\S+)`).FindStringSubmatch(out)
	if len(keys) != 3 || root == nil {
		t.Fatalf("init output:\n%s", out)
	}
	if _, err := run("", "operator", "status"); !errors.As(err, new(exitCodeError)) {
		t.Fatalf("status while sealed should exit 2: %v", err)
	}
	must("", "operator", "unseal", keys[0][1])
	out = must(keys[1][1]+"\n", "operator", "unseal") // the key from stdin
	if !regexp.MustCompile(`Sealed\s+false`).MatchString(out) {
		t.Fatalf("after two keys:\n%s", out)
	}
	t.Setenv("VAULT_TOKEN", root[1])
	if _, err := run("", "kv", "put", "secret/app", "a=b"); err == nil {
		t.Fatal("put on an unmounted path succeeded")
	}
	must("", "secrets", "enable", "-path=secret", "-version=2", "kv")
	if out = must("", "secrets", "list"); !strings.Contains(out, "secret/") {
		t.Fatalf("secrets list:\n%s", out)
	}
	must("", "kv", "put", "secret/app/db", "password=hunter2", "user=app")
	out = must("", "kv", "get", "secret/app/db")
	if !regexp.MustCompile(`password\s+hunter2`).MatchString(out) || !regexp.MustCompile(`version\s+1`).MatchString(out) {
		t.Fatalf("kv get:\n%s", out)
	}
	if out = must("", "kv", "list", "secret/app"); !strings.Contains(out, "db") {
		t.Fatalf("kv list:\n%s", out)
	}
	if out = must("", "kv", "metadata", "get", "secret/app/db"); !regexp.MustCompile(`current_version\s+1`).MatchString(out) {
		t.Fatalf("metadata:\n%s", out)
	}
	kvVersions(t, must, run)
	must("", "secrets", "tune", "-max-lease-ttl=87600h", "-default-lease-ttl=1h", "secret")
	if out = must("", "--format", "json", "secrets", "list"); !strings.Contains(out, `"max_lease_ttl": 315360000`) {
		t.Fatalf("secrets list after tune:\n%s", out)
	}
	must("", "policy", "write", "app-read-only", "../../schemas/cedar/vault/examples/read-only-app.cedar")
	if out = must("", "policy", "list"); !strings.Contains(out, "app-read-only") {
		t.Fatalf("policy list:\n%s", out)
	}
	if out = must("", "policy", "read", "app-read-only"); !strings.Contains(out, `@id("app-read-only")`) {
		t.Fatalf("policy read:\n%s", out)
	}
	// Vault's HCL, from stdin: translated to Cedar, read back as written.
	hcl := "path \"secret/data/app/*\" {\n  capabilities = [\"read\"]\n}\n"
	must(hcl, "policy", "write", "hcl-app", "-")
	if out = must("", "policy", "read", "hcl-app"); out != hcl+"\n" {
		t.Fatalf("policy read of an HCL policy: %q", out)
	}
	out = must("", "token", "create", "-policy=app-read-only", "-ttl=1h", "-metadata", "team=payments")
	tok := regexp.MustCompile(`token\s+(s\.\S+)`).FindStringSubmatch(out)
	if tok == nil || !regexp.MustCompile(`token_duration\s+3600\n`).MatchString(out) {
		t.Fatalf("token create:\n%s", out)
	}
	if out = must("", "token", "lookup", tok[1]); !regexp.MustCompile(`policies\s+\[app-read-only default\]`).MatchString(out) {
		t.Fatalf("token lookup:\n%s", out)
	}
	if out = must("", "token", "capabilities", tok[1], "secret/data/app/db"); out != "list, read\n" {
		t.Fatalf("token capabilities: %q", out)
	}
	if out = must("", "token", "capabilities", "secret/data/app/db"); out != "root\n" {
		t.Fatalf("own token capabilities: %q", out)
	}
	t.Setenv("VAULT_TOKEN", tok[1])
	if _, err := run("", "kv", "put", "secret/app/db", "x=y"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("write with a read-only token: %v", err)
	}
	t.Setenv("VAULT_TOKEN", root[1])
	must("", "token", "revoke", tok[1])
	if _, err := run("", "token", "lookup", tok[1]); err == nil {
		t.Fatal("a revoked token still looks up")
	}
	// transit: a post-quantum key round trip through the verbs, and signatures.
	must("", "secrets", "enable", "transit")
	if out = must("", "token", "create", "-period=30m"); !regexp.MustCompile(`token_duration\s+1800\n`).MatchString(out) {
		t.Fatalf("periodic token:\n%s", out)
	}
	must("", "transit", "create", "-type=ml-kem-768", "pq")
	if _, err := run("", "transit", "create", "-type=aes256-gcm96", "pq"); err == nil || !strings.Contains(err.Error(), "already exists with type ml-kem-768") {
		t.Fatalf("create of an existing key with another type: %v", err)
	}
	ct := regexp.MustCompile(`^(vault:v1:\S+)\n$`).FindStringSubmatch(must("launch codes\n", "transit", "encrypt", "pq", "-"))
	if ct == nil {
		t.Fatal("transit encrypt printed no bare ciphertext")
	}
	if out = must("", "transit", "encrypt", "orders", "card 4111"); !strings.HasPrefix(out, "vault:v1:") ||
		!strings.Contains(stderr.String(), `key "orders" did not exist and was created with type aes256-gcm96`) {
		t.Fatalf("encrypt with a missing key: %q, stderr %q", out, stderr.String())
	}
	if out = must("", "transit", "decrypt", "pq", ct[1]); out != "launch codes\n" {
		t.Fatalf("transit decrypt: %q", out)
	}
	must("", "transit", "create", "--type", "ml-dsa-65", "signer")
	sig := regexp.MustCompile(`signature\s+(vault:v1:\S+)`).FindStringSubmatch(must("", "transit", "sign", "signer", "v1.0.0"))
	if sig == nil {
		t.Fatal("transit sign printed no signature")
	}
	if out = must("", "transit", "verify", "signer", "v1.0.0", sig[1]); !regexp.MustCompile(`valid\s+true`).MatchString(out) {
		t.Fatalf("transit verify:\n%s", out)
	}
	if out = must("", "transit", "verify", "signer", "v1.0.1", sig[1]); !regexp.MustCompile(`valid\s+false`).MatchString(out) {
		t.Fatalf("transit verify of another input:\n%s", out)
	}
	must("", "transit", "rotate", "pq")
	offlineEncryption(t, run, must, addr)
	if out = must("", "transit", "read", "pq"); !regexp.MustCompile(`latest_version\s+2`).MatchString(out) {
		t.Fatalf("transit read:\n%s", out)
	}
	if out = must("", "transit", "list"); !strings.Contains(out, "signer") {
		t.Fatalf("transit list:\n%s", out)
	}
	if _, err := run("", "transit", "decrypt", "pq", "vault:v9:AAAA"); err == nil || !strings.Contains(err.Error(), "version is too new") {
		t.Fatalf("decrypt of a too-new version: %v", err)
	}
	must("", "operator", "seal")
	if _, err := run("", "kv", "get", "secret/app/db"); err == nil || !strings.Contains(err.Error(), "Vault is sealed") {
		t.Fatalf("get while sealed: %v", err)
	}
}

// offlineEncryption encrypts to version 2 of the ml-kem-768 key "pq" with
// the vault unreachable, from the key as `transit read` printed it and from
// one bare public key, and has the vault decrypt both.
func offlineEncryption(t *testing.T, run func(string, ...string) (string, error), must func(string, ...string) string, addr string) {
	t.Helper()
	dir := t.TempDir()
	described := must("", "--format", "json", "transit", "read", "pq")
	var key struct {
		Data struct {
			Keys map[string]struct {
				PublicKey string `json:"public_key"`
			} `json:"keys"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(described), &key); err != nil || key.Data.Keys["2"].PublicKey == "" {
		t.Fatalf("transit read -format json: %v\n%s", err, described)
	}
	files := map[string]string{"pq.json": described, "pq.pub": key.Data.Keys["2"].PublicKey, "short.pub": key.Data.Keys["2"].PublicKey[:100]}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1") // nothing listens there
	var cts []string
	for _, args := range [][]string{{filepath.Join(dir, "pq.json")}, {filepath.Join(dir, "pq.pub"), "--key-version", "2"}} {
		out := must("written offline\n", append([]string{"transit", "encrypt", "pq", "-", "--offline", "--public-key"}, args...)...)
		ct := regexp.MustCompile(`^(vault:v2:\S+)\n$`).FindStringSubmatch(out)
		if ct == nil {
			t.Fatalf("offline encrypt printed:\n%s", out)
		}
		cts = append(cts, ct[1])
	}
	if _, err := run("x", "transit", "encrypt", "pq", "-", "--offline", "--public-key", filepath.Join(dir, "pq.pub")); err == nil || !strings.Contains(err.Error(), "--key-version") {
		t.Fatalf("a bare key without --key-version: %v", err)
	}
	if _, err := run("x", "transit", "encrypt", "pq", "-", "--offline", "--key-version", "2", "--public-key", filepath.Join(dir, "short.pub")); err == nil || !strings.Contains(err.Error(), "is neither an ML-KEM-768") {
		t.Fatalf("a truncated public key: %v", err)
	}
	t.Setenv("VAULT_ADDR", addr)
	for _, ct := range cts {
		if out := must("", "transit", "decrypt", "pq", ct); out != "written offline\n" {
			t.Fatalf("the vault decrypts the offline ciphertext as %q", out)
		}
	}
}

// kvVersions drives kv patch, delete, undelete, rollback and destroy on
// secret/app/db (version 1: password=hunter2 user=app).
func kvVersions(t *testing.T, must func(string, ...string) string, run func(string, ...string) (string, error)) {
	t.Helper()
	if out := must("", "kv", "patch", "secret/app/db", "user=ops"); !regexp.MustCompile(`version\s+2`).MatchString(out) {
		t.Fatalf("kv patch:\n%s", out)
	}
	out := must("", "kv", "get", "secret/app/db")
	if !regexp.MustCompile(`password\s+hunter2`).MatchString(out) || !regexp.MustCompile(`user\s+ops`).MatchString(out) {
		t.Fatalf("after kv patch:\n%s", out)
	}
	must("", "kv", "patch", "-method=rw", "secret/app/db", "user=rw")
	must("", "kv", "delete", "secret/app/db")
	// As the vault CLI: a deleted version shows its metadata and no data.
	if out = must("", "kv", "get", "secret/app/db"); strings.Contains(out, "user") || !regexp.MustCompile(`deletion_time\s+\d`).MatchString(out) {
		t.Fatalf("a deleted version:\n%s", out)
	}
	must("", "kv", "undelete", "-versions=3", "secret/app/db")
	if out = must("", "kv", "get", "secret/app/db"); !regexp.MustCompile(`user\s+rw`).MatchString(out) {
		t.Fatalf("after undelete:\n%s", out)
	}
	if out = must("", "kv", "rollback", "-version=1", "secret/app/db"); !regexp.MustCompile(`version\s+4`).MatchString(out) {
		t.Fatalf("kv rollback:\n%s", out)
	}
	if out = must("", "kv", "get", "secret/app/db"); !regexp.MustCompile(`user\s+app`).MatchString(out) {
		t.Fatalf("after rollback:\n%s", out)
	}
	must("", "kv", "destroy", "-versions=2", "secret/app/db")
	if out = must("", "kv", "get", "-version=2", "secret/app/db"); strings.Contains(out, "user") || !regexp.MustCompile(`destroyed\s+true`).MatchString(out) {
		t.Fatalf("a destroyed version:\n%s", out)
	}
	if _, err := run("", "kv", "undelete", "secret/app/db"); err == nil || !strings.Contains(err.Error(), "-versions is required") {
		t.Fatalf("undelete without versions: %v", err)
	}
}

// Vault's single-dash long flags become cobra's double-dash ones; shorthands,
// values and what follows "--" stay as they are.
func TestVaultArgs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"vault operator init -key-shares=5 -key-threshold=3", "vault operator init --key-shares=5 --key-threshold=3"},
		{"vault secrets enable -path=secret -version=2 kv", "vault secrets enable --path=secret --version=2 kv"},
		{"vault transit create -type=ml-kem-768 orders", "vault transit create --type=ml-kem-768 orders"},
		{"vault token create -policy=a -ttl=1h -metadata team=x -orphan", "vault token create --policy=a --ttl=1h --metadata team=x --orphan"},
		{"vault kv get -format=json secret/x", "vault kv get --format=json secret/x"},
		{"vault transit encrypt orders - -context=abc", "vault transit encrypt orders - --context=abc"},
		{"vault kv put secret/x -notaflag=1", "vault kv put secret/x -notaflag=1"},
		{"vault kv put secret/x -- -cas=1", "vault kv put secret/x -- -cas=1"},
		{"dev -mem", "dev -mem"},
	} {
		got := strings.Join(vaultArgs(rootCommand(), strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsCedarPolicy(t *testing.T) {
	for _, c := range []struct {
		file, text string
		want       bool
	}{
		{"p.cedar", "", true},
		{"-", "@id(\"x\")\npermit (principal, action, resource);", true},
		{"-", "forbid(principal, action, resource);", true},
		{"p.hcl", "path \"secret/*\" { capabilities = [\"read\"] }", false},
		{"-", "# permit (not really)\npath \"a\" { policy = \"read\" }", false},
	} {
		if got := isCedarPolicy(c.file, c.text); got != c.want {
			t.Errorf("%s %q: %v", c.file, c.text, got)
		}
	}
}
