package llm

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// The key store follows the environment: the vault when VAULT_ADDR is set,
// else the application-secrets KMS key (sealed keys open again, bound to
// their provider), else none.
func TestKeysFromEnvironment(t *testing.T) {
	ctx := context.Background()
	deps := func(vars map[string]string) *function.Deps {
		return &function.Deps{Vars: vars, Log: slog.New(slog.DiscardHandler)}
	}
	k, err := keysFor(ctx, deps(map[string]string{"SECRETS_KMS_KEY": localkms.UnsealKeyAlias,
		"AWS_ENDPOINT_URL_KMS": os.Getenv("AWS_ENDPOINT_URL_KMS")}))
	if _, ok := k.(*KMSKeys); err != nil || !ok {
		t.Fatalf("SECRETS_KMS_KEY: %T %v", k, err)
	}
	ref, err := k.Seal(ctx, "claude", "sk-secret")
	if err != nil || strings.Contains(ref, "sk-secret") {
		t.Fatalf("seal: %q %v", ref, err)
	}
	if key, err := k.Open(ctx, ref); err != nil || key != "sk-secret" {
		t.Fatalf("open: %q %v", key, err)
	}
	moved := strings.Replace(ref, "kms:claude:", "kms:gpt:", 1) // another provider's context
	if _, err := k.Open(ctx, moved); err == nil {
		t.Fatal("a key sealed for one provider opened as another's")
	}
	k, err = keysFor(ctx, deps(map[string]string{"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN": "t"}))
	if _, ok := k.(*VaultKeys); err != nil || !ok {
		t.Fatalf("VAULT_ADDR: %T %v", k, err)
	}
	if k, err := keysFor(ctx, deps(map[string]string{"SECRETS_KMS_KEY": "", "VAULT_ADDR": ""})); k != nil || err != nil {
		t.Fatalf("neither: %T %v", k, err)
	}
	if _, err := NewVaultKeys("not a url", "t", ""); err == nil {
		t.Fatal("a malformed VAULT_ADDR was taken")
	}
}
