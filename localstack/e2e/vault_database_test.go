package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/postgres"
	"github.com/stratumiops/stratumiops/localstack/tools"
)

// sweepEvery is how often the devstack under test runs scheduled functions
// (vault-database's lease sweep among them).
const sweepEvery = time.Second

// The database engine against a real PostgreSQL: what OpenBao's client gets
// is tried as a login, and pg_roles says what exists.
func TestVaultDatabase(t *testing.T) {
	if !own {
		t.Skip("the target's functions cannot reach a PostgreSQL on this host")
	}
	ctx := context.Background()
	pg, err := postgres.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	super, err := pgx.Connect(ctx, pg.URL(postgres.Superuser, pg.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(ctx)
	for _, stmt := range []string{
		`CREATE ROLE vaultadmin WITH LOGIN SUPERUSER PASSWORD 'admin-pw-1'`,
		`CREATE TABLE items (id int)`, `INSERT INTO items VALUES (1), (2), (3)`,
		`CREATE ROLE app_static WITH LOGIN PASSWORD 'static-pw-1'`, `GRANT SELECT ON items TO app_static`,
	} {
		if _, err := super.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	roleExists := func(name string) bool {
		t.Helper()
		var n int
		if err := super.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	login := func(user, password string) error {
		conn, err := pgx.Connect(ctx, pg.URL(user, password))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var n int
		return conn.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n)
	}

	root := unsealedRoot(t)
	lg := root.Logical()
	if err := root.Sys().MountWithContext(ctx, "database", &bao.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	connURL := fmt.Sprintf("postgresql://{{username}}:{{password}}@%s/postgres?sslmode=disable", pg.Addr())
	closed, _ := tools.FreePort()
	deadURL := fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", closed)

	t.Run("config verifies the connection and never shows the password", func(t *testing.T) {
		_, err := lg.WriteWithContext(ctx, "database/config/down", map[string]any{"plugin_name": "postgresql-database-plugin",
			"connection_url": deadURL, "username": "vaultadmin", "password": "x", "allowed_roles": "*"})
		if !hasStatus(err, 400) || !strings.Contains(err.Error(), "error verifying connection") {
			t.Fatalf("an unreachable database with verify_connection: %v", err)
		}
		mustWrite(t, lg, "database/config/pg", map[string]any{"plugin_name": "postgresql-database-plugin", "connection_url": connURL,
			"username": "vaultadmin", "password": "admin-pw-1", "allowed_roles": []string{"readonly", "short", "broken", "static-app"}})
		cfg, err := lg.ReadWithContext(ctx, "database/config/pg")
		if err != nil || cfg.Data["plugin_name"] != "postgresql-database-plugin" {
			t.Fatalf("read config: %v %v", cfg, err)
		}
		if strings.Contains(fmt.Sprint(cfg.Data), "admin-pw-1") {
			t.Fatal("the connection password is shown")
		}
		// A password written into connection_url itself is masked, as Vault does.
		literal := fmt.Sprintf("postgresql://vaultadmin:admin-pw-1@%s/postgres?sslmode=disable", pg.Addr())
		mustWrite(t, lg, "database/config/literal", map[string]any{"plugin_name": "postgresql-database-plugin", "connection_url": literal,
			"allowed_roles": "*"})
		cfg, err = lg.ReadWithContext(ctx, "database/config/literal")
		if err != nil {
			t.Fatal(err)
		}
		details, _ := cfg.Data["connection_details"].(map[string]any)
		if strings.Contains(fmt.Sprint(cfg.Data), "admin-pw-1") || details["connection_url"] != strings.Replace(literal, "admin-pw-1", "*****", 1) {
			t.Fatalf("a literal password in connection_url: %v", cfg.Data)
		}
	})

	creation := `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`
	t.Run("creds are a real login until revoked; renew is capped at max_ttl", func(t *testing.T) {
		mustWrite(t, lg, "database/roles/readonly", map[string]any{"db_name": "pg", "creation_statements": creation, "default_ttl": "1h", "max_ttl": "24h"})
		s, err := lg.ReadWithContext(ctx, "database/creds/readonly")
		if err != nil {
			t.Fatal(err)
		}
		user, pass := s.Data["username"].(string), s.Data["password"].(string)
		if !strings.HasPrefix(s.LeaseID, "database/creds/readonly/") || s.LeaseDuration != 3600 || !s.Renewable || len(user) > 63 {
			t.Fatalf("creds: lease %q %d %v, user %q", s.LeaseID, s.LeaseDuration, s.Renewable, user)
		}
		if err := login(user, pass); err != nil {
			t.Fatalf("log in with the creds: %v", err)
		}
		look := mustWrite(t, lg, "sys/leases/lookup", map[string]any{"lease_id": s.LeaseID})
		if look.Data["id"] != s.LeaseID || look.Data["renewable"] != true {
			t.Fatalf("lookup: %v", look.Data)
		}
		renewed, err := root.Sys().RenewWithContext(ctx, s.LeaseID, 48*3600)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.LeaseDuration > 24*3600 || renewed.LeaseDuration < 24*3600-60 || len(renewed.Warnings) == 0 {
			t.Fatalf("renew by 48h under a 24h max_ttl: %d s, warnings %v", renewed.LeaseDuration, renewed.Warnings)
		}
		if err := root.Sys().RevokeWithContext(ctx, s.LeaseID); err != nil {
			t.Fatal(err)
		}
		if err := login(user, pass); err == nil || roleExists(user) {
			t.Fatal("the login works after its lease was revoked")
		}
		if _, err := lg.WriteWithContext(ctx, "sys/leases/lookup", map[string]any{"lease_id": s.LeaseID}); !hasStatus(err, 400) {
			t.Fatalf("lookup of a revoked lease: %v", err)
		}
	})

	t.Run("an expired lease is swept from pg_roles", func(t *testing.T) {
		mustWrite(t, lg, "database/roles/short", map[string]any{"db_name": "pg", "creation_statements": creation, "default_ttl": "2s", "max_ttl": "2s"})
		s, err := lg.ReadWithContext(ctx, "database/creds/short")
		if err != nil {
			t.Fatal(err)
		}
		user := s.Data["username"].(string)
		if !roleExists(user) {
			t.Fatal("no login was made")
		}
		// Expiry plus one sweep interval, with room for a busy machine.
		deadline := time.Now().Add(2*time.Second + sweepEvery + 8*time.Second)
		for roleExists(user) {
			if time.Now().After(deadline) {
				t.Fatalf("%s is still in pg_roles after its lease expired", user)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("an expiry is honoured across a restart", func(t *testing.T) {
		if dev == nil {
			t.Skip("the devstack belongs to someone else: it cannot be restarted")
		}
		s, err := lg.ReadWithContext(ctx, "database/creds/short")
		if err != nil {
			t.Fatal(err)
		}
		user := s.Data["username"].(string)
		if err := dev.stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // it expires while nothing runs
		if !roleExists(user) {
			t.Fatal("the login went before anything could revoke it")
		}
		if err := dev.start(); err != nil {
			t.Fatal(err)
		}
		root = unsealedRoot(t)
		lg = root.Logical()
		deadline := time.Now().Add(sweepEvery + 8*time.Second)
		for roleExists(user) {
			if time.Now().After(deadline) {
				t.Fatalf("%s survived its lease's expiry across a restart", user)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("revoking a token revokes its leases", func(t *testing.T) {
		tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"root"}, DisplayName: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		child := baoClient(t, ep.Gateways["vault"], tok.Auth.ClientToken)
		s, err := child.Logical().ReadWithContext(ctx, "database/creds/readonly")
		if err != nil {
			t.Fatal(err)
		}
		user := s.Data["username"].(string)
		if err := root.Auth().Token().RevokeTreeWithContext(ctx, tok.Auth.ClientToken); err != nil {
			t.Fatal(err)
		}
		if roleExists(user) {
			t.Fatalf("%s outlived its token", user)
		}
	})

	t.Run("a bad creation statement is a 400 with PostgreSQL's message and leaves nothing", func(t *testing.T) {
		mustWrite(t, lg, "database/roles/broken", map[string]any{"db_name": "pg",
			"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANTT SELECT ON items TO "{{name}}"`})
		_, err := lg.ReadWithContext(ctx, "database/creds/broken")
		if !hasStatus(err, 400) || !strings.Contains(err.Error(), "syntax error") {
			t.Fatalf("creds with a syntax error: %v", err)
		}
		var n int
		if err := super.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname LIKE '%broken%'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("half-made logins left: %d %v", n, err)
		}
	})

	t.Run("static roles rotate a login's password", func(t *testing.T) {
		mustWrite(t, lg, "database/static-roles/static-app", map[string]any{"db_name": "pg", "username": "app_static", "rotation_period": "1h"})
		if login("app_static", "static-pw-1") == nil {
			t.Fatal("the original password still works after the vault took the login over")
		}
		first, err := lg.ReadWithContext(ctx, "database/static-creds/static-app")
		if err != nil || first == nil || first.Data["username"] != "app_static" {
			t.Fatalf("static-creds: %v %v", first, err)
		}
		p1 := first.Data["password"].(string)
		if err := login("app_static", p1); err != nil {
			t.Fatalf("static creds: %v", err)
		}
		mustWrite(t, lg, "database/rotate-role/static-app", nil)
		second, _ := lg.ReadWithContext(ctx, "database/static-creds/static-app")
		p2 := second.Data["password"].(string)
		if p1 == p2 || login("app_static", p1) == nil || login("app_static", p2) != nil {
			t.Fatal("rotate-role did not replace the password")
		}
	})

	t.Run("rotate-root: the old root password stops working, the engine does not", func(t *testing.T) {
		mustWrite(t, lg, "database/rotate-root/pg", nil)
		if login("vaultadmin", "admin-pw-1") == nil {
			t.Fatal("the old root password still works")
		}
		s, err := lg.ReadWithContext(ctx, "database/creds/readonly")
		if err != nil {
			t.Fatalf("creds after rotate-root: %v", err)
		}
		if err := login(s.Data["username"].(string), s.Data["password"].(string)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		mustWrite(t, lg, "database/config/gone", map[string]any{"plugin_name": "postgresql-database-plugin", "connection_url": deadURL,
			"username": "u", "password": "p", "allowed_roles": "*", "verify_connection": false})
		mustWrite(t, lg, "database/roles/nowhere", map[string]any{"db_name": "gone", "creation_statements": creation})
		if _, err := lg.ReadWithContext(ctx, "database/creds/nowhere"); !hasStatus(err, 502) || !strings.Contains(err.Error(), "database unreachable") {
			t.Errorf("creds on an unreachable database: %v", err)
		}
		for _, c := range []struct {
			path    string
			body    map[string]any
			message string
		}{
			{"database/config/x", map[string]any{"plugin_name": "mysql-database-plugin", "connection_url": connURL}, "unsupported plugin_name"},
			{"database/config/x", map[string]any{"plugin_name": "postgresql-database-plugin"}, "connection_url is required"},
			{"database/roles/x", map[string]any{"db_name": "pg"}, "creation_statements is required"},
			{"database/roles/x", map[string]any{"db_name": "pg", "creation_statements": creation, "default_ttl": "2h", "max_ttl": "1h"}, "ttl cannot be greater than max_ttl"},
			{"database/roles/x", map[string]any{"db_name": "pg", "creation_statements": creation, "default_ttl": "soon"}, "default_ttl"},
			{"database/static-roles/x", map[string]any{"db_name": "pg", "username": "app_static", "rotation_period": "1s"}, "rotation_period must be"},
			{"sys/leases/renew", map[string]any{"lease_id": "database/creds/readonly/nope"}, "lease not found"},
		} {
			if _, err := lg.WriteWithContext(ctx, c.path, c.body); !hasStatus(err, 400) || !strings.Contains(err.Error(), c.message) {
				t.Errorf("%s %v: %v, want 400 with %q", c.path, c.body, err, c.message)
			}
		}
		if _, err := lg.ReadWithContext(ctx, "database/creds/nope"); !hasStatus(err, 400) || !strings.Contains(err.Error(), "unknown role: nope") {
			t.Errorf("creds of an unknown role: %v", err)
		}
	})
}
