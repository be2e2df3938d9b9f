package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/localstack/tools"
)

// The same-run comparison with OpenBao (issue 17): HashiCorp's
// vault-benchmark drives OpenBao 2.6.2 on raft storage (a non-dev server,
// see ../shared/notes/openbao-baseline.md), then our devstack, with the
// same workers and duration; the figures, their ratio and the issue's
// target are printed side by side.

const vaultBenchmarkTag = "v0.4.1"

// openbaoScenario is one vault-benchmark test and the target for
// our rate over OpenBao's.
type openbaoScenario struct {
	test, label, config string
	target              float64
}

var openbaoScenarios = []openbaoScenario{
	{"kvv2_write", "KV v2 write", "numkvs = 100\nkvsize = 100", 1.0},
	{"kvv2_read", "KV v2 read", "numkvs = 100\nkvsize = 100", 1.0},
	{"transit_encrypt", "transit encrypt aes256-gcm96", "payload_len = 128\nkeys { type = \"aes256-gcm96\" }", 1.5},
}

// benchOpenBao runs the comparison; root is our devstack's root token.
func benchOpenBao(ctx context.Context, ep devstack.Endpoints, root string, duration time.Duration, clients int) error {
	baoBin := toolPath("BAO", "bao")
	if _, err := os.Stat(baoBin); err != nil {
		fmt.Printf("\nOpenBao comparison skipped: no bao binary at %s (set BAO=<path>, or run `make compat` once to build v2.6.2 into .tools/bin)\n", baoBin)
		return nil
	}
	vb, err := vaultBenchmark(ctx)
	if err != nil {
		fmt.Printf("\nOpenBao comparison skipped: %v\n", err)
		return nil
	}
	dir, err := os.MkdirTemp("", "stratum-bench-openbao-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr, token, stop, err := startOpenBao(ctx, baoBin, dir)
	if err != nil {
		return err
	}
	theirs, err := runVaultBenchmark(ctx, vb, dir, addr, token, duration, clients)
	stop()
	if err != nil {
		return fmt.Errorf("openbao: %w", err)
	}
	ours, err := runVaultBenchmark(ctx, vb, dir, ep.Gateways["vault"], root, duration, clients)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\nvault-benchmark %s, %d workers, %s each, OpenBao 2.6.2 (raft) then the devstack, %s (load %s)\n",
		vaultBenchmarkTag, clients, duration, time.Now().UTC().Format("2006-01-02"), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("%-30s %12s %12s %8s %8s\n", "scenario", "OpenBao/s", "ours/s", "ratio", "target")
	for _, s := range openbaoScenarios {
		ratio := 0.0
		if theirs[s.test] > 0 {
			ratio = ours[s.test] / theirs[s.test]
		}
		verdict := "met"
		if ratio < s.target {
			verdict = "below"
		}
		fmt.Printf("%-30s %12.0f %12.0f %7.2fx %7.1fx %s\n", s.label, theirs[s.test], ours[s.test], ratio, s.target, verdict)
	}
	return nil
}

// devRoot is the devstack vault's root token once initialised.
var devRoot string

// devVaultRoot initialises and unseals the devstack's vault (1/1) the first
// time, and returns its root token.
func devVaultRoot(c *bao.Client) (string, error) {
	if devRoot != "" {
		return devRoot, nil
	}
	init, err := c.Sys().Init(&bao.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return "", err
	}
	if _, err := c.Sys().Unseal(init.Keys[0]); err != nil {
		return "", err
	}
	devRoot = init.RootToken
	return devRoot, nil
}

// benchOpenBaoOnDevstack is the comparison against the devstack's vault.
func benchOpenBaoOnDevstack(ctx context.Context, ep devstack.Endpoints, duration time.Duration, clients int) error {
	c, err := client(ep.Gateways["vault"], "", clients)
	if err != nil {
		return err
	}
	root, err := devVaultRoot(c)
	if err != nil {
		return err
	}
	return benchOpenBao(ctx, ep, root, duration, clients)
}

// toolPath is $env, or .tools/bin/name in the repository.
func toolPath(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	return filepath.Join(repoRoot(), ".tools", "bin", name)
}

func repoRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// vaultBenchmark is the vault-benchmark binary: $VAULT_BENCHMARK, or
// .tools/bin/vault-benchmark, built from source at v0.4.1 the first time
// (about a minute).
func vaultBenchmark(ctx context.Context) (string, error) {
	bin := toolPath("VAULT_BENCHMARK", "vault-benchmark")
	if _, err := os.Stat(bin); err == nil || os.Getenv("VAULT_BENCHMARK") != "" {
		return bin, err
	}
	src := filepath.Join(repoRoot(), ".tools", "src", "vault-benchmark")
	if _, err := os.Stat(src); err != nil {
		clone := exec.CommandContext(ctx, "git", "clone", "--quiet", "--depth", "1", "--branch", vaultBenchmarkTag,
			"https://github.com/hashicorp/vault-benchmark", src)
		if out, err := clone.CombinedOutput(); err != nil {
			return "", fmt.Errorf("clone vault-benchmark: %v\n%s", err, out)
		}
	}
	fmt.Println("building vault-benchmark", vaultBenchmarkTag, "into", bin, "(about a minute)…")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build vault-benchmark: %v\n%s", err, out)
	}
	return bin, nil
}

// startOpenBao runs a non-dev OpenBao server on raft storage in dir,
// initialised 1/1 and unsealed; stop ends it.
func startOpenBao(ctx context.Context, bin, dir string) (addr, token string, stop func(), err error) {
	port, err := tools.FreePort()
	if err != nil {
		return "", "", nil, err
	}
	cluster, err := tools.FreePort()
	if err != nil {
		return "", "", nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	addr = "http://" + listen
	raft := filepath.Join(dir, "raft")
	if err := os.MkdirAll(raft, 0o700); err != nil {
		return "", "", nil, err
	}
	hcl := fmt.Sprintf("storage \"raft\" {\n  path = %q\n  node_id = \"n1\"\n}\nlistener \"tcp\" {\n  address = %q\n  tls_disable = 1\n}\n"+
		"disable_mlock = true\napi_addr = %q\ncluster_addr = \"https://127.0.0.1:%d\"\n", raft, listen, addr, cluster)
	conf := filepath.Join(dir, "bao.hcl")
	if err := os.WriteFile(conf, []byte(hcl), 0o600); err != nil {
		return "", "", nil, err
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "server", "-config="+conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", "", nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	if token, err = initOpenBao(ctx, addr, listen); err != nil {
		stop()
		return "", "", nil, fmt.Errorf("start openbao: %w\n%s", err, logs.String())
	}
	return addr, token, stop, nil
}

func initOpenBao(ctx context.Context, addr, listen string) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return "", errors.New("not listening after 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, err := client(addr, "", 1)
	if err != nil {
		return "", err
	}
	init, err := c.Sys().InitWithContext(ctx, &bao.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return "", err
	}
	if _, err := c.Sys().UnsealWithContext(ctx, init.Keys[0]); err != nil {
		return "", err
	}
	c.SetToken(init.RootToken)
	// Raft elects its one node a moment after unseal.
	for time.Now().Before(deadline) {
		if _, err := c.Sys().ListMountsWithContext(ctx); err == nil {
			return init.RootToken, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", errors.New("not active 60s after unseal")
}

// runVaultBenchmark runs each scenario against addr and returns the
// successful requests per second by test type.
func runVaultBenchmark(ctx context.Context, bin, dir, addr, token string, duration time.Duration, clients int) (map[string]float64, error) {
	rates := map[string]float64{}
	for _, s := range openbaoScenarios {
		conf := fmt.Sprintf("vault_addr = %q\nvault_token = %q\nduration = %q\nworkers = %d\ncleanup = true\n"+
			"test %q \"bench\" {\n  weight = 100\n  config {\n%s\n  }\n}\n", addr, token, duration.String(), clients, s.test, s.config)
		path := filepath.Join(dir, s.test+".hcl")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		out, err := exec.CommandContext(ctx, bin, "run", "-config="+path).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("vault-benchmark %s: %v\n%s", s.test, err, out)
		}
		rate, err := throughput(out, "bench")
		if err != nil {
			return nil, fmt.Errorf("vault-benchmark %s: %w\n%s", s.test, err, out)
		}
		rates[s.test] = rate
	}
	return rates, nil
}

// throughput reads the successful requests per second of the op named name
// from vault-benchmark's terse report (op count rate throughput mean 95th%
// 99th% successRatio).
func throughput(report []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(report))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 8 && f[0] == name {
			return strconv.ParseFloat(f[3], 64)
		}
	}
	return 0, fmt.Errorf("no %q line in the report", name)
}
