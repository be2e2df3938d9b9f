package kmsclient_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/awscfg/kmsclient"
)

// Against local-kms (AWS KMS's wire format): a blob opens with its key and
// context only; KMS's own errors come back by name.
func TestEncryptDecryptAgainstLocalKMS(t *testing.T) {
	ctx := context.Background()
	srv, err := localkms.Start(ctx, localkms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	c, err := kmsclient.New(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"purpose": "test", "id": "1"}
	blob, err := c.Encrypt(ctx, localkms.UnsealKeyAlias, []byte("root key"), ec)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.Decrypt(ctx, localkms.UnsealKeyAlias, blob, ec)
	if err != nil || !bytes.Equal(plain, []byte("root key")) {
		t.Fatalf("decrypt: %q, %v", plain, err)
	}
	var api *awscfg.APIError
	_, err = c.Decrypt(ctx, localkms.UnsealKeyAlias, blob, map[string]string{"purpose": "other"})
	if !errors.As(err, &api) || api.Code != "InvalidCiphertextException" {
		t.Fatalf("another context: %v", err)
	}
	_, err = c.Encrypt(ctx, "alias/no-such-key", []byte("x"), nil)
	if !errors.As(err, &api) || api.Code != "NotFoundException" {
		t.Fatalf("missing key: %v", err)
	}
}
