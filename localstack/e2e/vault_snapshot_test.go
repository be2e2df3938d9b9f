package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bao "github.com/openbao/openbao/api/v2"
)

// snapshotData is what a snapshot must carry over: a KV v2 secret with three
// versions, many more secrets, a token with its policy, transit keys and
// ciphertexts they made.
type snapshotData struct {
	kv, transit string
	token       string
	ciphertexts map[string]string // key name → ciphertext of "snapshot me"
}

// Judged by OpenBao's client (what `bao operator raft snapshot save|restore
// -force` calls): a snapshot of the suite's vault restores into a second,
// fresh devstack, which is then sealed and unseals with the suite's shares;
// every secret version, the token and the transit keys are there. Truncated
// and altered snapshots are refused with 400 and change nothing; a token
// without sudo gets 403. The second devstack's scheduled backups land in its
// directory, the last two kept, and restore as well.
func TestVaultSnapshot(t *testing.T) {
	if dev == nil {
		t.Skip("starts a second devstack: only when the suite runs its own")
	}
	ctx := context.Background()
	addr := ep.Gateways["vault"]
	init := initVault(t)
	root := baoClient(t, addr, init.RootToken)
	if st, err := root.Sys().SealStatusWithContext(ctx); err != nil || st.Sealed {
		unsealVault(t, root, init)
	}
	data := writeSnapshotData(t, root)

	reader := baoClient(t, addr, data.token)
	if err := reader.Sys().RaftSnapshotWithContext(ctx, &bytes.Buffer{}); !hasStatus(err, 403) {
		t.Fatalf("snapshot with a token without sudo: %v", err)
	}
	if err := reader.Sys().RaftSnapshotRestoreWithContext(ctx, strings.NewReader("x"), true); !hasStatus(err, 403) {
		t.Fatalf("restore with a token without sudo: %v", err)
	}
	// A backup token (read and sudo on the path, as Vault's backup policies
	// grant) saves but cannot restore: that takes update.
	mustWrite(t, root.Logical(), "sys/policies/acl/snapshot-backup",
		map[string]any{"policy": `path "sys/storage/raft/snapshot" { capabilities = ["read", "sudo"] }`})
	backup, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"snapshot-backup"}})
	if err != nil {
		t.Fatal(err)
	}
	backupClient := baoClient(t, addr, backup.Auth.ClientToken)
	if err := backupClient.Sys().RaftSnapshotWithContext(ctx, &bytes.Buffer{}); err != nil {
		t.Fatalf("snapshot with a backup token: %v", err)
	}
	if err := backupClient.Sys().RaftSnapshotRestoreWithContext(ctx, strings.NewReader("x"), false); !hasStatus(err, 403) {
		t.Fatalf("restore with a backup token (read and sudo only): %v", err)
	}
	var snap bytes.Buffer
	began := time.Now()
	if err := root.Sys().RaftSnapshotWithContext(ctx, &snap); err != nil {
		t.Fatalf("snapshot save: %v", err)
	}
	t.Logf("snapshot: %d bytes in %s", snap.Len(), time.Since(began).Round(time.Millisecond))
	cliSave(t, addr, init.RootToken)

	d2 := &devstackProc{bin: dev.bin, dir: t.TempDir(), extraArgs: []string{"--vault-backup-every", "1s"},
		extraEnv: []string{"VAULT_BACKUP_KEEP=2"}}
	ep2, err := d2.launch()
	if err != nil {
		t.Fatalf("second devstack: %v", err)
	}
	t.Cleanup(func() {
		if err := d2.stop(); err != nil {
			t.Error(err)
		}
	})
	addr2 := ep2.Gateways["vault"]
	target, init2 := freshVault(t, addr2)
	refusedSnapshots(t, target, snap.Bytes())

	began = time.Now()
	if err := target.Sys().RaftSnapshotRestoreWithContext(ctx, bytes.NewReader(snap.Bytes()), true); err != nil {
		t.Fatalf("restore -force: %v", err)
	}
	t.Logf("restore: %s", time.Since(began).Round(time.Millisecond))
	st, err := target.Sys().SealStatusWithContext(ctx)
	if err != nil || !st.Sealed || st.T != 3 || st.N != 5 {
		t.Fatalf("after restore the vault is sealed with the snapshot's seal (3 of 5): %+v %v", st, err)
	}
	unsealVault(t, baoClient(t, addr2, ""), init)
	checkSnapshotData(t, addr2, init.RootToken, data)
	if _, err := baoClient(t, addr2, init2.RootToken).Auth().Token().LookupSelfWithContext(ctx); !hasStatus(err, 403) {
		t.Fatalf("the fresh vault's own root token still works after the restore: %v", err)
	}
	if s, err := baoClient(t, addr2, init.RootToken).Logical().ReadWithContext(ctx, "marker/data/x"); err == nil && s != nil {
		t.Fatalf("the fresh vault's own secret survived the restore: %v", s.Data)
	}
	scheduledBackups(t, ep2.VaultBackupDir, addr2, init, data)
}

func writeSnapshotData(t *testing.T, root *bao.Client) snapshotData {
	ctx := context.Background()
	sfx := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	d := snapshotData{kv: "snapkv" + sfx, transit: "snaptr" + sfx, ciphertexts: map[string]string{}}
	mustWrite(t, root.Logical(), "sys/mounts/"+d.kv, map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	mustWrite(t, root.Logical(), "sys/mounts/"+d.transit, map[string]any{"type": "transit"})
	for v := 1; v <= 3; v++ {
		if _, err := root.KVv2(d.kv).Put(ctx, "app/db", map[string]any{"password": fmt.Sprintf("v%d", v)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 300
	if s := os.Getenv("STRATUM_SNAPSHOT_SECRETS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				_, err := root.KVv2(d.kv).Put(ctx, fmt.Sprintf("bulk/%d", i), map[string]any{"n": strconv.Itoa(i), "pad": strings.Repeat("x", 200)})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, typ := range []string{"aes256-gcm96", "ml-kem-768"} {
		mustWrite(t, root.Logical(), d.transit+"/keys/"+typ, map[string]any{"type": typ})
		s := mustWrite(t, root.Logical(), d.transit+"/encrypt/"+typ, map[string]any{"plaintext": b64("snapshot me")})
		d.ciphertexts[typ] = s.Data["ciphertext"].(string)
	}
	mustWrite(t, root.Logical(), "sys/policies/cedar/snap-reader", map[string]any{"policy": `permit (principal, action == Action::"read", resource) when { resource.path like "` + d.kv + `/*" };`})
	tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"snap-reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	d.token = tok.Auth.ClientToken
	return d
}

// cliSave takes a snapshot with `stratum vault operator snapshot save`.
func cliSave(t *testing.T, addr, token string) {
	file := filepath.Join(t.TempDir(), "vault.snap")
	cmd := exec.Command(dev.bin, "vault", "operator", "snapshot", "save", file)
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+addr, "VAULT_TOKEN="+token)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stratum vault operator snapshot save: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(file)
	if err != nil || len(raw) < 100 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("the CLI's snapshot is not a gzip stream: %d bytes, %v", len(raw), err)
	}
}

// freshVault initialises and unseals a new vault with one share and gives
// it a secret of its own.
func freshVault(t *testing.T, addr string) (*bao.Client, *bao.InitResponse) {
	ctx := context.Background()
	init, err := baoClient(t, addr, "").Sys().InitWithContext(ctx, &bao.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init the second vault: %v", err)
	}
	c := baoClient(t, addr, init.RootToken)
	if _, err := c.Sys().UnsealWithContext(ctx, init.Keys[0]); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, c.Logical(), "sys/mounts/marker", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	if _, err := c.KVv2("marker").Put(ctx, "x", map[string]any{"mine": "yes"}); err != nil {
		t.Fatal(err)
	}
	return c, init
}

// refusedSnapshots sends damaged snapshots and one of another vault without
// -force: each is a 400 and the vault is as it was.
func refusedSnapshots(t *testing.T, target *bao.Client, snap []byte) {
	ctx := context.Background()
	flipped := bytes.Clone(snap)
	flipped[len(flipped)/2] ^= 0x20
	cases := []struct {
		name  string
		body  []byte
		force bool
	}{{"truncated", snap[:len(snap)*3/4], true}, {"one byte flipped", flipped, true}, {"last byte missing", snap[:len(snap)-1], true},
		{"another vault without -force", snap, false}}
	for _, c := range cases {
		err := target.Sys().RaftSnapshotRestoreWithContext(ctx, bytes.NewReader(c.body), c.force)
		if !hasStatus(err, 400) {
			t.Fatalf("%s: want 400, got %v", c.name, err)
		}
		t.Logf("%s: %v", c.name, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	s, err := target.KVv2("marker").Get(ctx, "x")
	if err != nil || s.Data["mine"] != "yes" {
		t.Fatalf("a refused snapshot changed the vault: %v %v", s, err)
	}
}

func checkSnapshotData(t *testing.T, addr, rootToken string, d snapshotData) {
	ctx := context.Background()
	root := baoClient(t, addr, rootToken)
	for v := 1; v <= 3; v++ {
		s, err := root.KVv2(d.kv).GetVersion(ctx, "app/db", v)
		if err != nil || s.Data["password"] != fmt.Sprintf("v%d", v) {
			t.Fatalf("version %d after restore: %v %v", v, s, err)
		}
	}
	if s, err := root.KVv2(d.kv).Get(ctx, "bulk/123"); err != nil || s.Data["n"] != "123" {
		t.Fatalf("bulk/123 after restore: %v %v", s, err)
	}
	reader := baoClient(t, addr, d.token)
	if _, err := reader.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		t.Fatalf("the token after restore: %v", err)
	}
	if s, err := reader.KVv2(d.kv).Get(ctx, "app/db"); err != nil || s.Data["password"] != "v3" {
		t.Fatalf("the token reads with its policy after restore: %v %v", s, err)
	}
	for key, ct := range d.ciphertexts {
		s, err := root.Logical().WriteWithContext(ctx, d.transit+"/decrypt/"+key, map[string]any{"ciphertext": ct})
		if err != nil || s.Data["plaintext"] != b64("snapshot me") {
			t.Fatalf("transit %s decrypt after restore: %v %v", key, s, err)
		}
	}
}

// scheduledBackups waits for vault-backup's snapshots (every second, the
// last two kept) and restores the newest with `stratum vault operator
// snapshot restore -force`.
func scheduledBackups(t *testing.T, dir, addr string, init *bao.InitResponse, d snapshotData) {
	list := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "secretumvault-*.snap"))
		return names
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(list()) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // two more runs
	names := list()
	// (A run has its new file in place a moment before it prunes.)
	for try := 0; len(names) != 2 && try < 10; try++ {
		time.Sleep(100 * time.Millisecond)
		names = list()
	}
	if len(names) != 2 {
		t.Fatalf("backups kept in %s: %v (want the last 2)", dir, names)
	}
	// By the CLI, with the vault CLI's single-dash flag.
	cmd := exec.Command(dev.bin, "vault", "operator", "snapshot", "restore", "-force", names[len(names)-1])
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+addr, "VAULT_TOKEN="+init.RootToken)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("stratum vault operator snapshot restore -force: %v\n%s", err, out)
	}
	unsealVault(t, baoClient(t, addr, ""), init)
	checkSnapshotData(t, addr, init.RootToken, d)
}
