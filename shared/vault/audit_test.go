package vault

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

func auditDB(t *testing.T) (*audit, *surreal.Client) {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("audit_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	a := &audit{db: db}
	for i := range 4 {
		if err := a.append(context.Background(), AuditEntry{Type: "request-response", Request: map[string]any{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	return a, db
}

func TestVerifyAuditFindsEveryBreak(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct{ tamper, want string }{
		"intact":        {"", ""},
		"tail removed":  {"DELETE audit_log:⟨000000000004⟩", "entries after 3 were removed"},
		"middle gone":   {"DELETE audit_log:⟨000000000002⟩", "entry 2 is missing"},
		"entry edited":  {"UPDATE audit_log:⟨000000000003⟩ SET entry = string::replace(entry, '2', '9')", "entry 3 was modified"},
		"hash replaced": {"UPDATE audit_log:⟨000000000001⟩ SET hash = 'ff'", "entry 1 was modified"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, db := auditDB(t)
			if c.tamper != "" {
				if _, err := surreal.Query[any](ctx, db, c.tamper, nil); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := VerifyAudit(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if !rep.Valid || rep.Entries != 4 {
					t.Fatalf("intact chain: %+v", rep)
				}
				return
			}
			if rep.Valid || !strings.Contains(rep.Problem, c.want) {
				t.Fatalf("want %q, got %+v", c.want, rep)
			}
		})
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	a, db := auditDB(t)
	done := make(chan error, 10)
	for i := range 10 {
		go func() { done <- a.append(context.Background(), AuditEntry{Request: map[string]any{"c": i}}) }()
	}
	for range 10 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	rep, err := VerifyAudit(context.Background(), db)
	if err != nil || !rep.Valid || rep.Entries != 14 {
		t.Fatalf("%+v %v", rep, err)
	}
}
