package tokentree

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// The sweep takes an expired token with everything below it, and a token
// whose parent is gone; a live token and a token without expiry (root) stay.
func TestSweepExpiredTakesDescendants(t *testing.T) {
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("tokens_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	for _, tok := range []struct {
		hash, parent string
		expire       *time.Time
	}{
		{"root", "", nil}, {"expired", "root", &past}, {"child", "expired", &future}, {"grandchild", "child", &future},
		{"live", "root", &future}, {"stray", "revoked-long-ago", &future},
	} {
		c := map[string]any{"accessor": tok.hash, "policies": []string{"default"}, "display_name": "token", "creation_time": past,
			"ttl_seconds": 0, "path": "auth/token/create"}
		if tok.parent != "" {
			c["parent"] = tok.parent
		}
		if tok.expire != nil {
			c["expire_time"] = *tok.expire
		}
		if _, err := surreal.Query[any](ctx, db, "CREATE type::record('tokens', $h) CONTENT $c", map[string]any{"h": tok.hash, "c": c}); err != nil {
			t.Fatal(err)
		}
	}
	revoked, err := SweepExpired(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(revoked)
	if !slices.Equal(revoked, []string{"child", "expired", "grandchild", "stray"}) {
		t.Fatalf("revoked %v", revoked)
	}
	left, err := surreal.Query[[]string](ctx, db, "SELECT VALUE record::id(id) FROM tokens", nil)
	slices.Sort(left)
	if err != nil || !slices.Equal(left, []string{"live", "root"}) {
		t.Fatalf("left %v %v", left, err)
	}
	// Each revoked token left a tombstone until its expiry; a tombstone past
	// its expiry goes with the next sweep.
	graves, err := surreal.Query[[]string](ctx, db, "SELECT VALUE record::id(id) FROM token_revoked WHERE "+
		"until = NONE OR until > time::now() - 1h", nil)
	slices.Sort(graves)
	if err != nil || !slices.Equal(graves, []string{"child", "expired", "grandchild", "stray"}) {
		t.Fatalf("tombstones %v %v", graves, err)
	}
	if _, err := surreal.Query[any](ctx, db, "UPDATE token_revoked:child SET until = time::now() - 2h", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := SweepExpired(ctx, db); err != nil {
		t.Fatal(err)
	}
	if gone, err := surreal.Query[bool](ctx, db, "RETURN record::exists(token_revoked:child)", nil); err != nil || gone {
		t.Fatalf("an old tombstone stayed: %v %v", gone, err)
	}
}

// Revoking a token that another revocation (the sweep, or a second
// instance) deleted meanwhile succeeds and deletes nothing more: an expired
// token presented while the sweep takes it used to answer 500.
func TestRevokeATokenAlreadyGone(t *testing.T) {
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("tokens_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	c := map[string]any{"accessor": "a", "policies": []string{"default"}, "display_name": "token", "creation_time": time.Now(),
		"ttl_seconds": 0, "path": "auth/token/create"}
	if _, err := surreal.Query[any](ctx, db, "CREATE tokens:kept CONTENT $c", map[string]any{"c": c}); err != nil {
		t.Fatal(err)
	}
	if _, err := Revoke(ctx, db, []string{"gone", "kept"}); err != nil {
		t.Fatalf("revoke with one token already gone: %v", err)
	}
	graves, err := surreal.Query[[]string](ctx, db, "SELECT VALUE record::id(id) FROM token_revoked", nil)
	if err != nil || !slices.Equal(graves, []string{"kept"}) {
		t.Fatalf("tombstones %v %v", graves, err)
	}
}
