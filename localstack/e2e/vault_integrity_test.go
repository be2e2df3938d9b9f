package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/postgres"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Whoever can write SurrealDB but holds no vault key cannot grant a token
// root by editing its record, nor plant a lease whose revocation statements
// the sweep would run against PostgreSQL with the vault's credentials: the
// records carry a MAC keyed in vault-crypto (issue 16, item 4).
func TestVaultRecordsRefuseEdits(t *testing.T) {
	db := surrealClient(t, "secretumvault")
	ctx := context.Background()
	root := unsealedRoot(t)

	t.Run("a token edited to root is refused", func(t *testing.T) {
		honest, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		edited, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		// Untouched records verify, also after a renewal rewrote them.
		hc := baoClient(t, ep.Gateways["vault"], honest.Auth.ClientToken)
		if _, err := hc.Auth().Token().RenewSelfWithContext(ctx, 600); err != nil {
			t.Fatalf("renew an untouched token: %v", err)
		}
		if s, err := hc.Auth().Token().LookupSelfWithContext(ctx); err != nil || s.Data["accessor"] != honest.Auth.Accessor {
			t.Fatalf("an untouched token after renewal: %v %v", s, err)
		}
		if _, err := surreal.Query[any](ctx, db, "UPDATE tokens SET policies = ['root'] WHERE accessor = $a",
			map[string]any{"a": edited.Auth.Accessor}); err != nil {
			t.Fatal(err)
		}
		ec := baoClient(t, ep.Gateways["vault"], edited.Auth.ClientToken)
		if _, err := ec.Sys().ListMountsWithContext(ctx); !hasStatus(err, 403) {
			t.Fatalf("a token whose record was edited to root lists mounts: %v", err)
		}
		if _, err := ec.Auth().Token().LookupSelfWithContext(ctx); !hasStatus(err, 403) {
			t.Fatalf("a token whose record was edited still authenticates: %v", err)
		}
		if _, err := hc.Auth().Token().LookupSelfWithContext(ctx); err != nil {
			t.Fatalf("the untouched token: %v", err)
		}
	})

	t.Run("an edited policy or mount is refused", func(t *testing.T) {
		lg := root.Logical()
		mustWrite(t, lg, "sys/policies/acl/integrity", map[string]any{"policy": `path "secret/data/integrity/*" { capabilities = ["read"] }`})
		if _, err := lg.ReadWithContext(ctx, "sys/policies/acl/integrity"); err != nil {
			t.Fatalf("read an untouched policy: %v", err)
		}
		if _, err := surreal.Query[any](ctx, db, "UPDATE policies:integrity SET text = string::replace(text, 'integrity', 'x')", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := lg.ReadWithContext(ctx, "sys/policies/acl/integrity"); !hasStatus(err, 403) {
			t.Fatalf("read an edited policy: %v", err)
		}
		_, _ = surreal.Query[any](ctx, db, "DELETE policies:integrity", nil)

		if err := root.Sys().MountWithContext(ctx, "integrity-kv", &bao.MountInput{Type: "kv"}); err != nil {
			t.Fatal(err)
		}
		uuid, err := surreal.Query[[]string](ctx, db, "SELECT VALUE uuid FROM mounts WHERE path = 'integrity-kv/'", nil)
		if err != nil || len(uuid) != 1 {
			t.Fatalf("the mount's uuid: %v %v", uuid, err)
		}
		set := func(v string) {
			t.Helper()
			if _, err := surreal.Query[any](ctx, db, "UPDATE mounts SET uuid = $u WHERE path = 'integrity-kv/'", map[string]any{"u": v}); err != nil {
				t.Fatal(err)
			}
		}
		set("another-mounts-storage")
		defer set(uuid[0])                           // the rest of the suite shares this vault
		deadline := time.Now().Add(10 * time.Second) // past the mounts' read cache
		for {
			_, err := root.Sys().ListMountsWithContext(ctx)
			if hasStatus(err, 403) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mounts listed with an edited mount: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("a planted lease is refused by the sweep", func(t *testing.T) {
		if !own {
			t.Skip("the target's functions cannot reach a PostgreSQL on this host")
		}
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
		if _, err := super.Exec(ctx, `CREATE ROLE vaultadmin WITH LOGIN SUPERUSER PASSWORD 'admin-pw-1'`); err != nil {
			t.Fatal(err)
		}
		roleExists := func(name string) bool {
			t.Helper()
			var n int
			if err := super.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", name).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		lg := root.Logical()
		if err := root.Sys().MountWithContext(ctx, "integrity-db", &bao.MountInput{Type: "database"}); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, lg, "integrity-db/config/pg", map[string]any{"plugin_name": "postgresql-database-plugin",
			"connection_url": fmt.Sprintf("postgresql://{{username}}:{{password}}@%s/postgres?sslmode=disable", pg.Addr()),
			"username":       "vaultadmin", "password": "admin-pw-1", "allowed_roles": "*"})
		uuid, err := surreal.Query[[]string](ctx, db, "SELECT VALUE uuid FROM mounts WHERE path = 'integrity-db/'", nil)
		if err != nil || len(uuid) != 1 {
			t.Fatalf("the mount's uuid: %v %v", uuid, err)
		}
		// An expired lease whose "revocation" makes a superuser, on the vault's connection.
		if _, err := surreal.Query[any](ctx, db, `CREATE leases:planted CONTENT {
			lease_id: 'integrity-db/creds/x/planted', engine: 'database', mount_uuid: $m, mount_path: 'integrity-db/',
			role: 'x', db_name: 'pg', username: 'victim', renew_statements: [], token_hash: 'none',
			revocation_statements: ["CREATE ROLE planted_admin WITH LOGIN SUPERUSER PASSWORD 'x'"],
			issue_time: time::now() - 2h, expire_time: time::now() - 1h, max_expire_time: time::now() - 1h,
			default_ttl_seconds: 60 }`, map[string]any{"m": uuid[0]}); err != nil {
			t.Fatal(err)
		}
		// A real lease that expires: once the sweep revoked it, the sweep has
		// also seen the planted one.
		mustWrite(t, lg, "integrity-db/roles/short", map[string]any{"db_name": "pg", "default_ttl": "2s", "max_ttl": "2s",
			"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`})
		s, err := lg.ReadWithContext(ctx, "integrity-db/creds/short")
		if err != nil {
			t.Fatal(err)
		}
		user := s.Data["username"].(string)
		deadline := time.Now().Add(2*time.Second + 3*sweepEvery + 10*time.Second)
		for roleExists(user) {
			if time.Now().After(deadline) {
				t.Fatalf("%s survived its lease's expiry: the sweep did not run", user)
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(2 * sweepEvery) // one more sweep, for good measure
		if roleExists("planted_admin") {
			t.Fatal("the sweep ran a planted lease's revocation statements")
		}
		left, err := surreal.Query[[]string](ctx, db, "SELECT VALUE lease_id FROM leases WHERE lease_id = 'integrity-db/creds/x/planted'", nil)
		if err != nil || len(left) != 1 {
			t.Fatalf("the planted lease should stay for whoever investigates: %v %v", left, err)
		}
		if _, err := lg.WriteWithContext(ctx, "sys/leases/lookup", map[string]any{"lease_id": "integrity-db/creds/x/planted"}); !hasStatus(err, 400) {
			t.Fatalf("lookup of a planted lease: %v", err)
		}
		_, _ = surreal.Query[any](ctx, db, "DELETE leases:planted", nil)
	})
}
