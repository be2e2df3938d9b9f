package surreal_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/localstack/tools"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

func client(t *testing.T, database string) *surreal.Client {
	t.Helper()
	cfg := surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: database}
	c := surreal.New(cfg, nil)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestQueryRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_roundtrip")
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	type row struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	got, err := surreal.Query[[]row](ctx, c, "CREATE thing CONTENT {name: $name, n: 3}; SELECT name, n FROM thing;", map[string]any{"name": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "a" || got[0].N != 3 {
		t.Fatalf("got %+v", got)
	}
}

func TestQueryErrorIsTyped(t *testing.T) {
	c := client(t, "t_errors")
	_, err := surreal.Query[any](context.Background(), c, "SELECT * FROM WHERE ;;; )", nil)
	var qe *surreal.QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("want QueryError, got %T %v", err, err)
	}
	if errors.Is(err, surreal.ErrUnavailable) {
		t.Fatal("a syntax error is not unavailability")
	}
	// The connection stays usable after a statement error.
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	port, err := tools.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c := surreal.New(surreal.Config{URL: fmt.Sprintf("ws://127.0.0.1:%d", port), Database: "x", Timeout: time.Second}, nil)
	err = c.Ping(context.Background())
	if !errors.Is(err, surreal.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
}

func TestMigrateAppliesOnceInOrder(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_migrate")
	files := fstest.MapFS{
		"db/001_a.surql": {Data: []byte("DEFINE TABLE a SCHEMALESS; CREATE a:one SET n = 1;")},
		"db/002_b.surql": {Data: []byte("UPDATE a:one SET n = n + 1;")},
		"db/notes.md":    {Data: []byte("ignored")},
	}
	applied, err := surreal.Migrate(ctx, c, files, "db")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(applied) != "[001_a.surql 002_b.surql]" {
		t.Fatalf("applied %v", applied)
	}
	again, err := surreal.Migrate(ctx, c, files, "db")
	if err != nil || len(again) != 0 {
		t.Fatalf("re-run applied %v, err %v", again, err)
	}
	n, err := surreal.Query[int](ctx, c, "RETURN (SELECT VALUE n FROM ONLY a:one)", nil)
	if err != nil || n != 2 {
		t.Fatalf("n = %d (err %v): migration 002 must run exactly once after 001", n, err)
	}

	files["db/001_a.surql"] = &fstest.MapFile{Data: []byte("DEFINE TABLE a SCHEMALESS; -- edited")}
	if _, err := surreal.Migrate(ctx, c, files, "db"); !errors.Is(err, surreal.ErrMigrationChanged) {
		t.Fatalf("changed applied file: want ErrMigrationChanged, got %v", err)
	}
}

func TestFailedMigrationLeavesNothing(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_migrate_fail")
	files := fstest.MapFS{"db/001_bad.surql": {Data: []byte("DEFINE TABLE ok SCHEMALESS; CREATE ok:x; THROW 'boom';")}}
	if _, err := surreal.Migrate(ctx, c, files, "db"); err == nil {
		t.Fatal("want error")
	}
	n, err := surreal.Query[int](ctx, c, "RETURN count(SELECT * FROM _migrations)", nil)
	if err != nil || n != 0 {
		t.Fatalf("migrations recorded: %d (err %v)", n, err)
	}
}

func TestConcurrentMigratorsApplyOnce(t *testing.T) {
	ctx := context.Background()
	files := fstest.MapFS{"db/001.surql": {Data: []byte("DEFINE TABLE IF NOT EXISTS counter SCHEMALESS; UPSERT counter:c SET n += 1;")}}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = surreal.Migrate(ctx, client(t, "t_migrate_race"), files, "db")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := surreal.Query[int](ctx, client(t, "t_migrate_race"), "RETURN (SELECT VALUE n FROM ONLY counter:c)", nil)
	if err != nil || n != 1 {
		t.Fatalf("counter = %d (err %v), want 1", n, err)
	}
}

func TestShippedSchemaApplies(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_portfolio")
	applied, err := surreal.Migrate(ctx, c, schemas.Surreal, "surreal/portfolio")
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 {
		t.Fatal("no portfolio migrations shipped")
	}
	// SCHEMAFULL: a wrong type is refused by the database itself.
	_, err = surreal.Query[any](ctx, c, "CREATE executions CONTENT {project:'p', source:'s', task_type:'t', status:'ok', duration_ms:'slow', metadata:{}}", nil)
	if err == nil {
		t.Fatal("duration_ms as string accepted")
	}
}

// Concurrent read-modify-writes of one record must all count: SurrealDB
// reports the conflict of two transactions that wrote one record and the
// client retries it, so every acknowledged increment is in the final value,
// and an indexed field moved by many writers agrees with a full scan.
//
// SurrealDB 3.0.2 on mem:// and surrealkv:// fails this (12–23 of 1 500
// increments lost, each acknowledged): reproduce with
// SURREAL_TEST_STORAGE=surrealkv:///tmp/kv go test -run TestNoLostUpdates.
// The platform's storage (rocksdb://) must pass it.
func TestNoLostUpdates(t *testing.T) {
	ctx := context.Background()
	setup := client(t, "t_lost")
	if _, err := surreal.Query[any](ctx, setup, `DEFINE TABLE hits SCHEMALESS; CREATE hits:one SET n = 0;
		DEFINE TABLE cards SCHEMALESS; DEFINE INDEX cards_column ON cards FIELDS column;
		FOR $i IN 0..40 { CREATE type::record('cards', $i) SET column = 0 };`, nil); err != nil {
		t.Fatal(err)
	}
	const writers, increments = 10, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(t, "t_lost") // a connection of its own, as another instance has
			for i := range increments {
				if _, err := surreal.Query[any](ctx, c, surreal.Atomic("UPDATE hits:one SET n += 1; UPDATE type::record('cards', $card) SET column = $col;"),
					map[string]any{"card": (w*increments + i) % 40, "col": i % 4}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a write failed (a retryable conflict reached the caller?): %v", err)
	}
	n, err := surreal.Query[int](ctx, setup, "RETURN (SELECT VALUE n FROM ONLY hits:one)", nil)
	if err != nil || n != writers*increments {
		t.Fatalf("%d increments acknowledged, the record holds %d (err %v): SurrealDB lost %d updates",
			writers*increments, n, err, writers*increments-n)
	}
	for col := range 4 {
		byIndex, err1 := surreal.Query[[]any](ctx, setup, "SELECT VALUE id FROM cards WHERE column = $c ORDER BY id", map[string]any{"c": col})
		byScan, err2 := surreal.Query[[]any](ctx, setup, "SELECT VALUE id FROM cards WITH NOINDEX WHERE column = $c ORDER BY id", map[string]any{"c": col})
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(byIndex) != fmt.Sprint(byScan) {
			t.Fatalf("column %d: the index lists %v, the records %v", col, byIndex, byScan)
		}
	}
}

// A result that does not decode is an error of its own: not unavailability,
// and the query is not run a second time.
func TestDecodeErrorIsNotUnavailability(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_decode")
	if _, err := surreal.Query[any](ctx, c, "DEFINE TABLE runs SCHEMALESS", nil); err != nil {
		t.Fatal(err)
	}
	_, err := surreal.Query[[]int](ctx, c, "CREATE runs SET n = 1; RETURN 'not an int list'", nil)
	if err == nil || errors.Is(err, surreal.ErrUnavailable) {
		t.Fatalf("want a decode error, got %v", err)
	}
	n, err := surreal.Query[int](ctx, c, "RETURN count(SELECT * FROM runs)", nil)
	if err != nil || n != 1 {
		t.Fatalf("the query ran %d times (err %v)", n, err)
	}
}
