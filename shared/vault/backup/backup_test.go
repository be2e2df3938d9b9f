package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/snapshot"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// Each run writes a whole snapshot into the directory; only the newest Keep stay.
func TestBackupKeepsTheLastN(t *testing.T) {
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("backup_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	b := &Backup{DB: db, Target: Dir(dir), Keep: 2, TempDir: t.TempDir()}
	if _, err := b.Run(ctx); err == nil {
		t.Fatal("a backup of an uninitialised vault succeeded")
	}
	if _, err := surreal.Query[any](ctx, db, "CREATE seal:config CONTENT { shares: 1, threshold: 1, keyring: <bytes>'k', generation: 1 }", nil); err != nil {
		t.Fatal(err)
	}
	var made []string
	for range 4 {
		res, err := b.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, res.Name)
		time.Sleep(2 * time.Millisecond) // names are stamped to the millisecond
	}
	names, err := Dir(dir).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, made[2:]) {
		t.Fatalf("kept %v, want the last two of %v", names, made)
	}
	// What is kept restores (forced: without vault-crypto here it carries no
	// MAC, as a backup of a sealed vault).
	f, err := os.Open(filepath.Join(dir, names[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := snapshot.Restore(ctx, db, f, true, nil); err != nil {
		t.Fatalf("restore a backup: %v", err)
	}
}
