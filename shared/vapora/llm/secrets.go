package llm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg/kmsclient"
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
// key sees the change. It speaks the two KV v2 calls it needs over
// net/http: the official client (openbao/api/v2, with hcl, go-jose and
// retryablehttp) adds 0.85 MB to the binary, which would take vapora-llm
// past the 15 MiB budget (measured: 16.45 MB with it, 15.60 without).
type VaultKeys struct {
	addr, token, mount string
	http               *http.Client
}

// NewVaultKeys returns the vault key store at addr, authenticated by token.
func NewVaultKeys(addr, token, mount string) (*VaultKeys, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("VAULT_ADDR %q: want an http or https URL", addr)
	}
	if mount == "" {
		mount = "secret"
	}
	return &VaultKeys{addr: strings.TrimRight(addr, "/"), token: token, mount: mount,
		http: &http.Client{Timeout: 10 * time.Second}}, nil
}

// kv sends one KV v2 request and decodes the "data" of the answer into out.
func (v *VaultKeys) kv(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.addr+"/v1/"+v.mount+"/data/"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", v.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := v.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("vault %s %s: HTTP %d %s", method, path, res.StatusCode, strings.Join(e.Errors, "; "))
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("vault %s %s: %w", method, path, err)
	}
	return json.Unmarshal(env.Data, out)
}

func (v *VaultKeys) Seal(ctx context.Context, provider, key string) (string, error) {
	path := "vapora/llm/providers/" + provider
	var meta struct {
		Version int `json:"version"`
	}
	if err := v.kv(ctx, http.MethodPost, path, map[string]any{"data": map[string]string{"api_key": key}}, &meta); err != nil {
		return "", fmt.Errorf("store key of %s in the vault: %w", provider, err)
	}
	return fmt.Sprintf("vault:%s#%d", path, meta.Version), nil
}

func (v *VaultKeys) Open(ctx context.Context, ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, "vault:")
	if !ok {
		return "", fmt.Errorf("key reference %q is not a vault reference", ref)
	}
	path, ver, _ := strings.Cut(rest, "#")
	if n, err := strconv.Atoi(ver); err == nil && n > 0 {
		path += "?version=" + ver
	}
	var secret struct {
		Data map[string]string `json:"data"`
	}
	if err := v.kv(ctx, http.MethodGet, path, nil, &secret); err != nil {
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
