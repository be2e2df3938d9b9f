package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bao "github.com/openbao/openbao/api/v2"
)

// faultWrite is one KV v2 write under faults: its value and what it was
// answered (status 0: no HTTP answer at all).
type faultWrite struct {
	value   string
	status  int
	version int
}

// Ten clients write one KV v2 secret blind while SurrealDB is killed with
// SIGKILL (and, under --lambda-runtime, vault function processes too); the
// devstack brings them back. Every write answered 2xx is readable afterwards
// at the version it was given; the versions are dense with no value twice;
// every other write was answered 5xx, never a 2xx that was lost.
func TestVaultWritesSurviveFaults(t *testing.T) {
	if !own {
		t.Skip("the devstack belongs to someone else: its processes cannot be killed")
	}
	if strings.HasPrefix(ep.SurrealStorage, "mem://") {
		t.Skip("in-memory SurrealDB cannot keep data across a crash")
	}
	root := unsealedRoot(t)
	mount := strings.ToLower(unique("faults"))
	if err := root.Sys().MountWithContext(context.Background(), mount, &bao.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, root.Logical(), mount+"/metadata/hot", map[string]any{"max_versions": 100000})
	url := ep.Gateways["vault"] + "/v1/" + mount + "/data/hot"
	stop := make(chan struct{})
	results := make(chan faultWrite, 1<<16)
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := faultyWrite(url, root.Token(), fmt.Sprint(g, "/", i))
				results <- r
				if r.status/100 != 2 {
					time.Sleep(20 * time.Millisecond) // no busy loop while it is down
				}
			}
		}()
	}
	injectFaults(t, root, mount)
	close(stop)
	wg.Wait()
	close(results)
	checkFaultWrites(t, root, mount, results)
}

// A vault-crypto execution environment whose runtime process died while
// idle fails the next invocation it is given (as in Lambda); what the vault
// asks of vault-crypto to serve an audited KV write only computes, so it is
// asked again and the write succeeds: killing every vault-crypto runtime
// between two writes answers neither with a 5xx.
func TestVaultSurvivesDeadCryptoRuntimes(t *testing.T) {
	if !own || os.Getenv("STRATUM_E2E_LAMBDA_RUNTIME") != "1" {
		t.Skip("needs the devstack's own function processes (--lambda-runtime)")
	}
	ctx := context.Background()
	root := unsealedRoot(t)
	mount, device := strings.ToLower(unique("deadcrypto")), strings.ToLower(unique("deadchain"))
	if err := root.Sys().MountWithContext(ctx, mount, &bao.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuditWithOptionsWithContext(ctx, device, &bao.EnableAuditOptions{Type: "surrealdb"}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Sys().DisableAuditWithContext(ctx, device) }()
	kv := root.KVv2(mount)
	for i := range 3 {
		if _, err := kv.Put(ctx, "s", map[string]any{"i": i}); err != nil {
			t.Fatalf("write %d before: %v", i, err)
		}
		killed := killFunctionProcesses("vault-crypto", 100, false)
		if len(killed) == 0 {
			t.Fatal("no vault-crypto runtime process found to kill")
		}
		if _, err := kv.Put(ctx, "s", map[string]any{"i": i, "after": "kill"}); err != nil {
			t.Fatalf("write %d after vault-crypto's runtimes %v were killed: %v", i, killed, err)
		}
	}
	// Leave no environment without its runtime to the tests after this one.
	killFunctionProcesses("vault-crypto", 100, true)
}

// faultyWrite writes value once, without the retries the Vault client makes
// (a retried write that had committed would be a second version).
func faultyWrite(url, token, value string) faultWrite {
	body, _ := json.Marshal(map[string]any{"data": map[string]string{"v": value}})
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("X-Vault-Token", token)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return faultWrite{value: value}
	}
	defer res.Body.Close()
	var out struct {
		Data struct {
			Version int `json:"version"`
		} `json:"data"`
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return faultWrite{value: value, status: res.StatusCode, version: out.Data.Version}
}

// injectFaults lets the writers run, kills SurrealDB (and function
// processes under --lambda-runtime), waits for the vault to write again,
// and lets the writers run a little longer.
func injectFaults(t *testing.T, root *bao.Client, mount string) {
	time.Sleep(1500 * time.Millisecond)
	pid := surrealPID()
	if pid == 0 {
		t.Fatal("SurrealDB process not found")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := killFunctionProcesses("vault-", 2, true)
	t.Logf("killed SurrealDB (pid %d) and function processes %v", pid, killed)
	eventually(t, "SurrealDB back and the vault writing", 45*time.Second, func() bool {
		np := surrealPID()
		if np == 0 || np == pid {
			return false
		}
		_, err := root.KVv2(mount).GetMetadata(context.Background(), "hot")
		return err == nil
	})
	time.Sleep(500 * time.Millisecond)
	if more := killFunctionProcesses("vault-", 1, true); len(more) > 0 {
		t.Logf("killed function processes %v while writing again", more)
	}
	time.Sleep(1500 * time.Millisecond)
}

// killFunctionProcesses kills up to n random function processes (the
// bootstraps the Lambda emulators of functions named prefix* run in this
// devstack; the emulator gives each its own process group) and returns
// their pids; none outside --lambda-runtime. With whole, it kills up to n
// execution environments instead (each emulator with its bootstrap, if it
// has one), as Lambda instances that are gone: the pool starts others, and
// no later test meets an environment left without its runtime.
func killFunctionProcesses(prefix string, n int, whole bool) []int {
	if os.Getenv("STRATUM_E2E_LAMBDA_RUNTIME") != "1" || dev == nil {
		return nil
	}
	var emulators []int
	children := map[int][]int{}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, pgid := procParents(p)
		children[ppid] = append(children[ppid], pid)
		if pgid != dev.cmd.Process.Pid {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		env, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "environ"))
		if strings.Contains(string(cmd), "--runtime-interface-emulator-address") &&
			bytes.Contains(append([]byte{0}, env...), []byte("\x00AWS_LAMBDA_FUNCTION_NAME="+prefix)) {
			emulators = append(emulators, pid)
		}
	}
	var pids []int
	for _, e := range emulators {
		if whole {
			pids = append(pids, e)
		} else {
			pids = append(pids, children[e]...)
		}
	}
	rand.Shuffle(len(pids), func(i, j int) { pids[i], pids[j] = pids[j], pids[i] })
	pids = pids[:min(n, len(pids))]
	for _, pid := range pids {
		if whole {
			for _, c := range children[pid] {
				_ = syscall.Kill(c, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return pids
}

// procParents reads a /proc/<pid>/stat file's parent pid and process group.
func procParents(stat string) (ppid, pgid int) {
	raw, err := os.ReadFile(stat)
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 3 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(f[1])
	pgid, _ = strconv.Atoi(f[2])
	return ppid, pgid
}

// checkFaultWrites checks the answers against what the secret holds.
func checkFaultWrites(t *testing.T, root *bao.Client, mount string, results <-chan faultWrite) {
	ctx := context.Background()
	acked := map[string]int{}
	failed := map[string]bool{}
	statuses := map[int]int{}
	for r := range results {
		statuses[r.status]++
		switch {
		case r.status >= 200 && r.status < 300:
			acked[r.value] = r.version
		case r.status >= 500:
			failed[r.value] = true
		default:
			t.Errorf("write %s answered %d: want 2xx or 5xx", r.value, r.status)
		}
	}
	meta, err := root.KVv2(mount).GetMetadata(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	ambiguous := 0
	for version := 1; version <= meta.CurrentVersion; version++ {
		s, err := root.KVv2(mount).GetVersion(ctx, "hot", version)
		if err != nil {
			t.Fatalf("version %d of %d: %v", version, meta.CurrentVersion, err)
		}
		v, _ := s.Data["v"].(string)
		if prev, dup := seen[v]; dup {
			t.Fatalf("versions %d and %d both hold %q", prev, version, v)
		}
		seen[v] = version
		if want, ok := acked[v]; ok && want != version {
			t.Fatalf("%q was answered as version %d, is version %d", v, want, version)
		}
		if _, ok := acked[v]; !ok {
			if !failed[v] {
				t.Fatalf("version %d holds %q, which was never written", version, v)
			}
			ambiguous++ // answered 5xx, yet committed: allowed, as in Vault
		}
	}
	for v, version := range acked {
		if _, ok := seen[v]; !ok {
			t.Errorf("%q was answered 2xx (version %d) and is lost", v, version)
		}
	}
	if len(acked) == 0 || len(failed) == 0 {
		t.Errorf("the faults were not felt: %d writes acknowledged, %d failed", len(acked), len(failed))
	}
	t.Logf("answers %v; %d acknowledged, all readable; %d versions; %d answered 5xx but committed",
		statuses, len(acked), meta.CurrentVersion, ambiguous)
}
