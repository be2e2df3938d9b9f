// Package kms runs local-kms, which speaks the AWS KMS API, for the devstack
// and the tests, and makes sure the vault's unseal key exists.
package kms

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

// Options configure a local KMS.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// DataDir keeps the keys; empty uses a temporary directory removed on Close.
	DataDir string
}

// Server is a running local-kms.
type Server struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	url     string
	tempDir string
}

// Start runs local-kms (installing it if needed) and creates the unseal key and alias.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	bin, err := tools.Ensure(ctx, tools.LocalKMS)
	if err != nil {
		return nil, err
	}
	s := &Server{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if opts.Port == 0 {
		if opts.Port, err = tools.FreePort(); err != nil {
			return nil, err
		}
	}
	dir := opts.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "stratum-kms-"); err != nil {
			return nil, err
		}
		s.tempDir = dir
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kms data dir: %w", err)
	}
	s.cmd = exec.Command(bin)
	s.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(opts.Port), "KMS_REGION=us-east-1",
		"KMS_ACCOUNT_ID=000000000000", "KMS_DATA_PATH="+dir)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start local-kms: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port))
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	s.exited = exited
	if err := tools.WaitForPort(addr, 15*time.Second, exited); err != nil {
		return nil, fmt.Errorf("local-kms: %w", err)
	}
	s.url = "http://" + addr
	if err := ensureUnsealKey(ctx, Client(s.url)); err != nil {
		return nil, err
	}
	return s, nil
}

// URL is the KMS endpoint.
func (s *Server) URL() string { return s.url }

// Close stops local-kms and removes a temporary data directory.
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		if s.exited != nil {
			<-s.exited
		}
	}
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// Client is an AWS SDK KMS client for a local endpoint.
func Client(endpoint string) *kms.Client {
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
