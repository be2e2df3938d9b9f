// Package e2e is the end-to-end suite. It drives a running StratumIOps only
// from outside — HTTP through the gateways, NATS, the AWS SDK Lambda client —
// so the same suite judges the devstack and a LocalStack deployment.
//
// With STRATUM_ENDPOINTS set to an endpoints JSON file (written by
// `stratum dev --endpoints-file`) it uses those; with STRATUM_CDK_OUTPUTS set to
// the outputs of `cdklocal deploy` (make e2e-local) it targets LocalStack. Otherwise it builds cmd/stratum, starts `stratum dev` on free
// ports with its own data directory, and stops it with SIGINT at the end,
// checking that it shuts down cleanly; STRATUM_E2E_LAMBDA_RUNTIME=1 starts it
// with --lambda-runtime, so the real bootstrap binaries answer.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

var (
	ep devstack.Endpoints
	// own is set when this suite started the devstack itself, so crash tests may kill its parts.
	own bool
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	http.DefaultTransport = contract
	if path := os.Getenv("STRATUM_CDK_OUTPUTS"); path != "" {
		var err error
		if ep, err = devstack.EndpointsFromCDKOutputs(path); err != nil {
			return 1, err
		}
		return runChecked(m), nil
	}
	if path := os.Getenv("STRATUM_ENDPOINTS"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return 1, err
		}
		if err := json.Unmarshal(raw, &ep); err != nil {
			return 1, fmt.Errorf("%s: %w", path, err)
		}
		return runChecked(m), nil
	}
	dir, err := os.MkdirTemp("", "stratum-e2e-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "stratum")
	// (built once; restarts reuse it)
	build := exec.Command("go", "build", "-o", bin, "github.com/stratumiops/stratumiops/cmd/stratum")
	if out, err := build.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("build stratum: %v\n%s", err, out)
	}
	dev = &devstackProc{bin: bin, dir: dir}
	if err := dev.start(); err != nil {
		return 1, err
	}
	own = true

	code := runChecked(m)

	// A clean stop: SIGINT ends the devstack, with exit code 0, and takes SurrealDB with it.
	if err := dev.stop(); err != nil {
		return code, err
	}
	if code != 0 {
		dumpLog(dev.logFile())
	}
	return code, nil
}

// runChecked runs the tests, then fails the run if a response did not
// match its OpenAPI document.
func runChecked(m *testing.M) int {
	code := m.Run()
	if !contract.report() && code == 0 {
		code = 1
	}
	return code
}

// dev is the devstack this suite started (nil when it targets another stack).
var dev *devstackProc

// devstackProc is a `stratum dev` process with its own data directory, so it
// can be stopped and started again on the same data.
type devstackProc struct {
	bin, dir string
	cmd      *exec.Cmd
	exited   chan error
	// extraArgs and extraEnv are added to the command (a second devstack's
	// settings); surreal is the SurrealDB address of the running one.
	extraArgs, extraEnv []string
	surreal             string
}

// killGroup ends the devstack and everything it started, abruptly.
func (d *devstackProc) killGroup() { _ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL) }

func (d *devstackProc) logFile() string { return filepath.Join(d.dir, "devstack.log") }

// start starts the suite's devstack and points ep at it.
func (d *devstackProc) start() error {
	next, err := d.launch()
	if err != nil {
		return err
	}
	ep = next
	return nil
}

// launch starts `stratum dev` and returns its endpoints once it is ready.
func (d *devstackProc) launch() (devstack.Endpoints, error) {
	endpoints := filepath.Join(d.dir, "endpoints.json")
	_ = os.Remove(endpoints)
	args := []string{"dev", "--data-dir", filepath.Join(d.dir, "data"), "--ephemeral-ports",
		"--fault-injection", "--retry-base", "50ms", "--schedule-every", sweepEvery.String(), "--endpoints-file", endpoints, "--log-file", d.logFile()}
	if os.Getenv("STRATUM_E2E_LAMBDA_RUNTIME") == "1" {
		args = append(args, "--lambda-runtime")
	}
	d.cmd = exec.Command(d.bin, append(args, d.extraArgs...)...)
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	// Its own process group, so that a kill takes the builds and emulators it started too.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Agents must beat every second here, so that the offline sweep is quick to see.
	// The local provider's storage quota is 1 GB, so that a volume over it (the
	// crash test's) is small enough for the disk's free space once a restart
	// raises the quota: at 20 GB, CI failed on a disk with less free.
	d.cmd.Env = append(append(os.Environ(), "VAPORA_HEARTBEAT_INTERVAL="+heartbeatEvery.String(),
		"PROV_LOCAL_MAX_STORAGE_GB="+strconv.Itoa(localStorageQuotaGB)), d.extraEnv...)
	began := time.Now()
	if err := d.cmd.Start(); err != nil {
		return devstack.Endpoints{}, fmt.Errorf("start stratum dev: %w", err)
	}
	d.exited = make(chan error, 1)
	go func() { d.exited <- d.cmd.Wait() }()
	if err := waitForFile(endpoints, d.exited, 3*time.Minute); err != nil {
		d.killGroup()
		dumpLog(d.logFile())
		return devstack.Endpoints{}, err
	}
	raw, _ := os.ReadFile(endpoints)
	var next devstack.Endpoints
	if err := json.Unmarshal(raw, &next); err != nil {
		d.killGroup()
		return devstack.Endpoints{}, err
	}
	d.surreal = next.Surreal
	fmt.Fprintf(os.Stderr, "e2e: devstack up in %s (its own start-up %d ms)\n", time.Since(began).Round(time.Millisecond), next.StartupMillis)
	return next, nil
}

// stop sends SIGINT and checks the devstack exits cleanly, taking SurrealDB with it.
func (d *devstackProc) stop() error {
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-d.exited:
		if err != nil {
			dumpLog(d.logFile())
			return fmt.Errorf("stratum dev did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		d.killGroup()
		return errors.New("stratum dev still running 30s after SIGINT")
	}
	if pid := surrealPIDAt(d.surreal); pid != 0 {
		return fmt.Errorf("SurrealDB (pid %d) outlived the devstack", pid)
	}
	return nil
}

func waitForFile(path string, exited <-chan error, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("stratum dev exited before it was ready: %v", err)
		case <-deadline:
			return fmt.Errorf("stratum dev not ready after %s", timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dumpLog prints the devstack log's tail, then its last errors: a failing
// test's cause is usually one of them, long before the shutdown noise at
// the end. A function's own lines come quoted inside the devstack's.
func dumpLog(path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if keep := os.Getenv("STRATUM_E2E_KEEP_LOG"); keep != "" {
		_ = os.WriteFile(keep, raw, 0o644) // the whole log
	}
	tail := raw[max(0, len(raw)-4000):]
	fmt.Fprintf(os.Stderr, "--- devstack log (tail) ---\n%s\n", tail)
	var problems []string
	for line := range strings.Lines(string(raw)) {
		failed := strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `\"level\":\"ERROR\"`)
		if failed && !strings.Contains(line, "failed to close WebSocket connection") {
			problems = append(problems, strings.TrimSuffix(line[:min(len(line), 600)], "\n")+"\n")
		}
	}
	problems = problems[max(0, len(problems)-150):]
	fmt.Fprintf(os.Stderr, "--- devstack log: its last %d errors ---\n%s", len(problems), strings.Join(problems, ""))
}

// surrealPID finds the SurrealDB server of this devstack by the address it
// binds (its pid changes whenever the supervisor restarts it); 0 if none runs.
func surrealPID() int { return surrealPIDAt(ep.Surreal) }

// surrealPIDAt finds the SurrealDB server bound to url's address.
func surrealPIDAt(url string) int {
	addr := strings.TrimPrefix(url, "ws://")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		if len(args) > 3 && strings.HasSuffix(args[1], "server.mjs") && slices.Contains(args, addr) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
