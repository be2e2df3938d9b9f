// Package kmsclient is the AWS KMS client of the functions that use a KMS
// key (the vault's unseal key, the application-secrets key): Encrypt and
// Decrypt with an encryption context, the two operations they call, sent as
// KMS's JSON 1.1 requests through awscfg.Service rather than the SDK's
// generated client for all of KMS (half a megabyte of each such bootstrap).
// Its tests run against local-kms, which speaks AWS KMS's wire format.
package kmsclient

import (
	"context"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// Client calls AWS KMS.
type Client struct{ kms *awscfg.Service }

// New returns a KMS client. endpoint overrides the service endpoint
// (local-kms in the devstack); else AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL or
// the region's.
func New(ctx context.Context, endpoint string) (*Client, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return &Client{kms: &awscfg.Service{Signing: "kms", Target: "TrentService", EnvName: "KMS", Config: cfg, Endpoint: endpoint}}, nil
}

// Encrypt seals plaintext with keyID (an id, ARN or alias) under the
// encryption context ec; the blob opens only with the same context.
func (c *Client) Encrypt(ctx context.Context, keyID string, plaintext []byte, ec map[string]string) ([]byte, error) {
	in := struct {
		KeyId             string
		Plaintext         []byte
		EncryptionContext map[string]string `json:",omitempty"`
	}{keyID, plaintext, ec}
	var out struct{ CiphertextBlob []byte }
	if err := c.kms.Call(ctx, "Encrypt", in, &out); err != nil {
		return nil, err
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("kms Encrypt: no ciphertext in the answer")
	}
	return out.CiphertextBlob, nil
}

// Decrypt opens a blob Encrypt made with keyID under the same context.
func (c *Client) Decrypt(ctx context.Context, keyID string, blob []byte, ec map[string]string) ([]byte, error) {
	in := struct {
		KeyId             string
		CiphertextBlob    []byte
		EncryptionContext map[string]string `json:",omitempty"`
	}{keyID, blob, ec}
	var out struct{ Plaintext []byte }
	if err := c.kms.Call(ctx, "Decrypt", in, &out); err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}
