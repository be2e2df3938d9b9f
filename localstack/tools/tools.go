// Package tools installs the local stand-ins for AWS services that the
// devstack runs, pinned, through the Go module proxy into <repo>/.tools/bin:
// the Lambda runtime interface emulator and local-kms.
package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Tool is a Go-installable binary at a pinned version.
type Tool struct {
	Name    string
	Package string
	Version string
}

var (
	// RIE is the AWS Lambda runtime interface emulator.
	RIE = Tool{Name: "aws-lambda-rie", Package: "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie",
		Version: "v0.0.0-20261030222936-bef5c4ba774d"}
	// LocalKMS speaks the AWS KMS API.
	LocalKMS = Tool{Name: "local-kms", Package: "github.com/nsmithuk/local-kms", Version: "v0.0.0-20260228092603-2a5e92d09ab6"}
)

var installMu sync.Mutex

// Ensure returns the tool's path, installing it into <repo>/.tools/bin first
// if it is not there yet.
func Ensure(ctx context.Context, t Tool) (string, error) {
	installMu.Lock()
	defer installMu.Unlock()
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, ".tools", "bin")
	path := filepath.Join(bin, t.Name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", t.Package+"@"+t.Version)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", t.Package, t.Version, err, out)
	}
	return path, nil
}

// FreePort asks the kernel for an unused TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitForPort waits until addr accepts TCP connections. It gives up when
// exited is closed (the process died) or after timeout.
func WaitForPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RepoRoot finds the directory of this module's go.mod from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(raw), "module github.com/stratumiops/stratumiops\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the stratumiops repository (no go.mod found above the working directory)")
		}
		dir = parent
	}
}
