package llm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg/kmsclient"
	"github.com/stratumiops/stratumiops/shared/platform/vaultkv"
)

// Keys seals providers' API keys and opens them again. A sealed key is a
// reference stored with the provider; the key itself is never stored in
// clear nor returned by the API.
type Keys interface {
	Seal(ctx context.Context, provider, key string) (ref string, err error)
	Open(ctx context.Context, ref string) (string, error)
}

// VaultKeys keeps the keys in SecretumVault's KV v2 (any Vault-compatible
// server): one secret per provider under vapora/llm/providers/<name>. The
// reference names the version written, so an instance that cached an older
// key sees the change. It speaks KV v2 through vaultkv: the official client
// (openbao/api/v2, with hcl, go-jose and retryablehttp) adds 0.85 MB to the
// binary.
type VaultKeys struct {
	kv *vaultkv.Client
}

// NewVaultKeys returns the vault key store at addr, authenticated by token.
func NewVaultKeys(addr, token, mount string) (*VaultKeys, error) {
	kv, err := vaultkv.New(addr, token, mount)
	if err != nil {
		return nil, err
	}
	return &VaultKeys{kv: kv}, nil
}

// VaultKeysWith returns the vault key store that kv reaches (e.g. a client
// logged in with an AppRole: vaultkv.FromEnv).
func VaultKeysWith(kv *vaultkv.Client) *VaultKeys { return &VaultKeys{kv: kv} }

func (v *VaultKeys) Seal(ctx context.Context, provider, key string) (string, error) {
	path := "vapora/llm/providers/" + provider
	version, err := v.kv.Write(ctx, path, map[string]string{"api_key": key})
	if err != nil {
		return "", fmt.Errorf("store key of %s in the vault: %w", provider, err)
	}
	return fmt.Sprintf("vault:%s#%d", path, version), nil
}

func (v *VaultKeys) Open(ctx context.Context, ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, "vault:")
	if !ok {
		return "", fmt.Errorf("key reference %q is not a vault reference", ref)
	}
	path, ver, _ := strings.Cut(rest, "#")
	n, _ := strconv.Atoi(ver)
	secret, err := v.kv.ReadVersion(ctx, path, max(n, 0))
	if err != nil {
		return "", fmt.Errorf("read provider key from the vault: %w", err)
	}
	return secret.Data["api_key"], nil
}

// KMSKeys seals keys with a KMS key; the encryption context binds each
// blob to its use and to the provider it was sealed for.
type KMSKeys struct {
	client *kmsclient.Client
	keyID  string
}

// NewKMSKeys builds the KMS sealer. endpoint overrides the service
// endpoint (local-kms in the devstack); else AWS_ENDPOINT_URL_KMS.
func NewKMSKeys(ctx context.Context, keyID, endpoint string) (*KMSKeys, error) {
	if keyID == "" {
		return nil, errors.New("no KMS key for provider keys: set SECRETS_KMS_KEY (or VAULT_ADDR to use the vault)")
	}
	client, err := kmsclient.New(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return &KMSKeys{client: client, keyID: keyID}, nil
}

func kmsContext(provider string) map[string]string {
	return map[string]string{"purpose": "vapora-llm-provider-key", "provider": provider}
}

func (k *KMSKeys) Seal(ctx context.Context, provider, key string) (string, error) {
	blob, err := k.client.Encrypt(ctx, k.keyID, []byte(key), kmsContext(provider))
	if err != nil {
		return "", fmt.Errorf("seal key of %s with kms: %w", provider, err)
	}
	return "kms:" + provider + ":" + base64.StdEncoding.EncodeToString(blob), nil
}

func (k *KMSKeys) Open(ctx context.Context, ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, "kms:")
	provider, b64, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", fmt.Errorf("key reference is not a kms reference")
	}
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("kms reference of %s: %w", provider, err)
	}
	plain, err := k.client.Decrypt(ctx, k.keyID, blob, kmsContext(provider))
	if err != nil {
		return "", fmt.Errorf("open key of %s with kms: %w", provider, err)
	}
	return string(plain), nil
}
