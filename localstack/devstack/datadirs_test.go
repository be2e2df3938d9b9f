package devstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With --mem the vault's backups and the local provider's folders are
// temporary, gone on Close; without it they live under the data directory.
func TestMemoryKeepsNothingInTheDataDir(t *testing.T) {
	dir := t.TempDir()
	s := &Stack{cfg: Config{Memory: true, DataDir: dir}}
	if err := s.dataDirs(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.endpoints.VaultBackupDir, s.endpoints.ProvisioningLocalDir} {
		if strings.HasPrefix(d, dir) {
			t.Fatalf("%s is under the data dir %s", d, dir)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if _, err := os.Stat(s.endpoints.VaultBackupDir); !os.IsNotExist(err) {
		t.Fatalf("backups left after Close: %v", err)
	}
	kept := &Stack{cfg: Config{DataDir: dir}}
	if err := kept.dataDirs(); err != nil || kept.endpoints.VaultBackupDir != filepath.Join(dir, "vault-backups") {
		t.Fatalf("without --mem: %s %v", kept.endpoints.VaultBackupDir, err)
	}
}
