package files

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// newStore is a Kogral store over a fresh database of the embedded
// SurrealDB, for the tests that import into a store.
func newStore(t testing.TB) *kogral.Store {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("kogral_files_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/kogral"); err != nil {
		t.Fatal(err)
	}
	return kogral.NewStore(db, embed.Local{})
}
