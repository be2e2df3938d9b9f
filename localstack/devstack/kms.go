package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/stratumiops/stratumiops/localstack/tools"
)

// UnsealKeyAlias names the KMS key that wraps the vault's root key, locally as in AWS.
const UnsealKeyAlias = "alias/stratum/vault-unseal"

// DefaultKMSPort is local-kms's port when EphemeralPorts is off.
const DefaultKMSPort = 8410

// startKMS runs local-kms (the AWS KMS API, keys kept under the data dir) and
// makes sure the unseal key and its alias exist.
func (s *Stack) startKMS(ctx context.Context) error {
	bin, err := tools.Ensure(ctx, tools.LocalKMS)
	if err != nil {
		return err
	}
	port := DefaultKMSPort
	if s.cfg.EphemeralPorts {
		if port, err = tools.FreePort(); err != nil {
			return err
		}
	}
	dir := filepath.Join(s.cfg.DataDir, "kms")
	if s.cfg.Memory {
		if dir, err = os.MkdirTemp("", "stratum-kms-"); err != nil {
			return err
		}
		s.tempDirs = append(s.tempDirs, dir)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("kms data dir: %w", err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "KMS_REGION=us-east-1",
		"KMS_ACCOUNT_ID=000000000000", "KMS_DATA_PATH="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start local-kms: %w", err)
	}
	s.kms = cmd
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("local-kms not listening on %s after 15s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.endpoints.KMS = "http://" + addr
	s.endpoints.KMSKey = UnsealKeyAlias
	return ensureUnsealKey(ctx, KMSClient(s.endpoints.KMS))
}

// KMSClient is an AWS SDK KMS client for a local endpoint.
func KMSClient(endpoint string) *kms.Client {
	return kms.NewFromConfig(aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")},
		func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func ensureUnsealKey(ctx context.Context, c *kms.Client) error {
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(UnsealKeyAlias)})
	var nf *kmstypes.NotFoundException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &nf):
		return fmt.Errorf("describe %s: %w", UnsealKeyAlias, err)
	}
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("SecretumVault auto-unseal (devstack)")})
	if err != nil {
		return fmt.Errorf("create unseal key: %w", err)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(UnsealKeyAlias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		return fmt.Errorf("alias unseal key: %w", err)
	}
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		return fmt.Errorf("rotate unseal key: %w", err)
	}
	return nil
}
