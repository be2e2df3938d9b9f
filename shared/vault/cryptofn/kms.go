// Package cryptofn wires vault-crypto: the keeper over AWS KMS. It is apart
// from the keeper so that the vault's HTTP functions, which only talk to
// vault-crypto, do not link the KMS client.
package cryptofn

import (
	"context"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg/kmsclient"
)

// KMS wraps with an AWS KMS key; the encryption context binds each blob to its use.
type KMS struct {
	client *kmsclient.Client
	keyID  string
}

// NewKMS builds a KMS wrapper for keyID (an ARN or alias). endpoint overrides the
// service endpoint (local-kms in the devstack); else AWS_ENDPOINT_URL_KMS.
func NewKMS(ctx context.Context, keyID, endpoint string) (*KMS, error) {
	if keyID == "" {
		return nil, fmt.Errorf("no KMS key: set VAULT_UNSEAL_KEY_ARN")
	}
	client, err := kmsclient.New(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return &KMS{client: client, keyID: keyID}, nil
}

func (k *KMS) Wrap(ctx context.Context, plaintext []byte, ec map[string]string) ([]byte, error) {
	out, err := k.client.Encrypt(ctx, k.keyID, plaintext, ec)
	if err != nil {
		return nil, fmt.Errorf("kms encrypt: %w", err)
	}
	return out, nil
}

func (k *KMS) Unwrap(ctx context.Context, blob []byte, ec map[string]string) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, k.keyID, blob, ec)
	if err != nil {
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out, nil
}
