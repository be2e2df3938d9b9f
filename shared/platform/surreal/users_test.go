package surreal_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

func userClient(t *testing.T, database, user, pass string) *surreal.Client {
	t.Helper()
	c := surreal.New(surreal.Config{URL: surrealURL, User: user, Pass: pass, Namespace: surreal.Namespace,
		Database: database, Level: surreal.LevelDatabase}, nil)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A function's user works in its own database (records and migrations) and
// cannot read or write another database, nor define users or databases.
func TestDatabaseUserIsConfinedToItsDatabase(t *testing.T) {
	ctx := context.Background()
	mine, other := client(t, "t_users_mine"), client(t, "t_users_other")
	if _, err := surreal.Query[any](ctx, other, "DEFINE TABLE IF NOT EXISTS secrets SCHEMALESS; UPSERT secrets:a SET v = 'other tenant';", nil); err != nil {
		t.Fatal(err)
	}
	if err := surreal.DefineDatabaseUser(ctx, mine, "fn_test", "pa's\\word"); err != nil {
		t.Fatal(err)
	}
	fn := userClient(t, "t_users_mine", "fn_test", "pa's\\word")
	if _, err := surreal.Query[any](ctx, fn, "DEFINE TABLE IF NOT EXISTS notes SCHEMAFULL; DEFINE FIELD IF NOT EXISTS text ON notes TYPE string; UPSERT notes:one SET text = 'mine';", nil); err != nil {
		t.Fatalf("own database: %v", err)
	}
	if got, err := surreal.Query[[]string](ctx, fn, "SELECT VALUE text FROM notes", nil); err != nil || len(got) != 1 {
		t.Fatalf("own records: %v %v", got, err)
	}
	got, err := surreal.Query[[]any](ctx, fn, "SELECT * FROM t_users_other.secrets", nil)
	if err == nil && len(got) > 0 {
		t.Fatalf("a function's user read another database: %v", got)
	}
	got, err = surreal.Query[[]any](ctx, fn, "USE DB t_users_other; SELECT * FROM secrets;", nil)
	if err == nil && len(got) > 0 {
		t.Fatalf("a function's user read another database after USE: %v", got)
	}
	_, _ = surreal.Query[any](ctx, fn, "USE DB t_users_other; UPSERT secrets:a SET v = 'overwritten'; CREATE secrets:planted;", nil)
	after, err := surreal.Query[[]string](ctx, other, "SELECT VALUE v FROM secrets", nil)
	if err != nil || len(after) != 1 || after[0] != "other tenant" {
		t.Fatalf("a function's user wrote another database: %v %v", after, err)
	}
	for _, sql := range []string{
		"DEFINE USER evil ON DATABASE PASSWORD 'x' ROLES OWNER",
		"DEFINE DATABASE IF NOT EXISTS t_users_new",
		"DEFINE USER evil ON ROOT PASSWORD 'x' ROLES OWNER",
	} {
		fresh := userClient(t, "t_users_mine", "fn_test", "pa's\\word")
		if _, err := surreal.Query[any](ctx, fresh, sql, nil); err == nil || !strings.Contains(err.Error(), "permissions") {
			t.Errorf("%s: want a permissions error, got %v", sql, err)
		}
	}
	bad := userClient(t, "t_users_mine", "fn_test", "wrong")
	if err := bad.Ping(ctx); err == nil {
		t.Fatal("a wrong password signed in")
	}
	// The user is of one database: it cannot sign in to another.
	elsewhere := userClient(t, "t_users_other", "fn_test", "pa's\\word")
	if err := elsewhere.Ping(ctx); err == nil {
		t.Fatal("a database user signed in to another database")
	}
}

// Functions apply their database's migrations on first use, as their own
// user: every shipped migration must work with surreal.UserRole.
func TestMigrationsRunAsDatabaseUser(t *testing.T) {
	ctx := context.Background()
	dirs, err := fs.ReadDir(schemas.Surreal, "surreal")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		database := "t_usermig_" + d.Name()
		if err := surreal.DefineDatabaseUser(ctx, client(t, database), "fn_migrate", "pw"); err != nil {
			t.Fatal(err)
		}
		fn := userClient(t, database, "fn_migrate", "pw")
		applied, err := surreal.Migrate(ctx, fn, schemas.Surreal, "surreal/"+d.Name())
		if err != nil {
			t.Fatalf("%s as a %s user: %v", d.Name(), surreal.UserRole, err)
		}
		if len(applied) == 0 {
			t.Fatalf("%s: nothing applied", d.Name())
		}
	}
}

// A function's user whose password was rotated (redefined from its secret)
// signs in on its next connection: the sign-in refused with the cached
// password reads the secret again once.
func TestRotatedPasswordIsReadAgain(t *testing.T) {
	ctx := context.Background()
	root := client(t, "t_users_rotate")
	if err := surreal.DefineDatabaseUser(ctx, root, "fn_rot", "old"); err != nil {
		t.Fatal(err)
	}
	if err := surreal.DefineDatabaseUser(ctx, root, "fn_rot", "new"); err != nil { // the rotation
		t.Fatal(err)
	}
	var asked []bool
	c := surreal.New(surreal.Config{URL: surrealURL, Namespace: surreal.Namespace, Database: "t_users_rotate", Level: surreal.LevelDatabase,
		Credentials: func(_ context.Context, refresh bool) (string, string, error) {
			asked = append(asked, refresh)
			if refresh {
				return "fn_rot", "new", nil
			}
			return "fn_rot", "old", nil // still cached
		}}, nil)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if len(asked) != 2 || asked[0] || !asked[1] {
		t.Fatalf("credentials asked %v, want cached then refreshed", asked)
	}
	wrong := surreal.New(surreal.Config{URL: surrealURL, Namespace: surreal.Namespace, Database: "t_users_rotate", Level: surreal.LevelDatabase,
		Credentials: func(context.Context, bool) (string, string, error) { return "fn_rot", "wrong", nil }}, nil)
	t.Cleanup(func() { _ = wrong.Close() })
	if err := wrong.Ping(ctx); err == nil {
		t.Fatal("a wrong password signed in")
	}
}
