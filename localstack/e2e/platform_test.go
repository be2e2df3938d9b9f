package e2e

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
)

// The devstack's KMS answers the AWS SDK as AWS KMS does: the unseal key exists
// under its alias, and a ciphertext only decrypts with its encryption context.
func TestKMSUnsealKey(t *testing.T) {
	needs(t, true, false)
	c := localkms.Client(ep.KMS)
	encCtx := map[string]string{"purpose": "e2e"}
	enc, err := c.Encrypt(ctx(t), &kms.EncryptInput{KeyId: aws.String(ep.KMSKey), Plaintext: []byte("root key"), EncryptionContext: encCtx})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decrypt(ctx(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encCtx})
	if err != nil || string(dec.Plaintext) != "root key" {
		t.Fatalf("decrypt: %+v %v", dec, err)
	}
	_, err = c.Decrypt(ctx(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
	var bad *kmstypes.InvalidCiphertextException
	if !errors.As(err, &bad) {
		t.Fatalf("wrong context: want InvalidCiphertextException, got %v", err)
	}
	rot, err := c.GetKeyRotationStatus(ctx(t), &kms.GetKeyRotationStatusInput{KeyId: enc.KeyId})
	if err != nil || !rot.KeyRotationEnabled {
		t.Fatalf("rotation: %+v %v", rot, err)
	}
}
