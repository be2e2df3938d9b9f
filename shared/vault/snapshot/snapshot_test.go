package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

// snapKey stands for the vault's record key, which MACs its snapshots.
var snapKey = []byte("the vault's record key, 32 bytes")

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

func vaultDB(t *testing.T) *surreal.Client {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("snap_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	return db
}

func exec(t *testing.T, db *surreal.Client, sql string, vars map[string]any) {
	t.Helper()
	if _, err := surreal.Query[any](context.Background(), db, sql, vars); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// fill writes records of every kind the vault stores: bytes, datetimes,
// options, nested objects, and more entries than one page.
func fill(t *testing.T, db *surreal.Client, gen int, entries int) {
	exec(t, db, "CREATE seal:config CONTENT { shares: 3, threshold: 2, keyring: <bytes>'ring', generation: $g, wrapped_root: <bytes>'kms' }", map[string]any{"g": gen})
	exec(t, db, "FOR $i IN 0..$n { CREATE type::record('entries', 'logical/x/' + <string>$i) CONTENT { path: 'logical/x/' + <string>$i, blob: <bytes>('ct' + <string>$i), rev: $i + 1 } }", map[string]any{"n": entries})
	exec(t, db, "FOR $p IN $odd { CREATE type::record('entries', $p) CONTENT { path: $p, blob: <bytes>'odd' } }",
		map[string]any{"odd": []string{"a`b", "back\\slash", "angle⟩d", "spa ce", "ünï", "123", "logical/x/5 ", "logical/x/50\u0000"}})
	exec(t, db, "CREATE tokens:abc CONTENT { accessor: 'acc', policies: ['root'], meta: { team: 'x' }, display_name: 'root', creation_time: time::now(), ttl_seconds: 0, path: 'auth/token/root', expire_time: d'2030-01-01T00:00:00Z' }", nil)
	exec(t, db, "CREATE mounts:m CONTENT { path: 'secret/', type: 'kv', accessor: 'kv_1', uuid: 'u1', options: { version: '2' } }", nil)
	exec(t, db, "CREATE audit:head CONTENT { seq: 1, hash: 'h' }; CREATE unseal_share:s CONTENT { blob: <bytes>'share' }", nil)
}

func dump(t *testing.T, db *surreal.Client) map[string][]Record {
	out := map[string][]Record{}
	for _, tb := range Tables {
		rows, err := surreal.Query[[]Record](context.Background(), db, "SELECT * FROM type::table($t) ORDER BY id", map[string]any{"t": tb})
		if err != nil {
			t.Fatal(err)
		}
		out[tb] = rows
	}
	return out
}

func TestSaveRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, dst := vaultDB(t), vaultDB(t)
	fill(t, src, 7, 1200)
	fill(t, dst, 40, 3)
	var buf bytes.Buffer
	sum, err := Save(ctx, src, &buf, "test", snapKey)
	if err != nil {
		t.Fatal(err)
	}
	want := dump(t, src)
	if sum.Counts["entries"] != len(want["entries"]) || len(want["entries"]) < 1200 || sum.Meta.SealGeneration != 7 {
		t.Fatalf("summary %+v", sum)
	}
	// The same keyring: no force needed.
	if _, err := Restore(ctx, dst, bytes.NewReader(buf.Bytes()), false, snapKey); err != nil {
		t.Fatal(err)
	}
	got := dump(t, dst)
	seal := got["seal"][0]
	if seal["wrapped_root"] != nil || seal["generation"] != uint64(41) && seal["generation"] != int64(41) {
		t.Fatalf("seal after restore: %#v", seal)
	}
	delete(want["seal"][0], "wrapped_root")
	want["seal"][0]["generation"] = seal["generation"]
	for _, tb := range Tables {
		if !reflect.DeepEqual(want[tb], got[tb]) {
			t.Errorf("table %s differs after restore:\nwant %v\ngot  %v", tb, head(want[tb]), head(got[tb]))
		}
	}
	n, err := surreal.Query[int](ctx, dst, "RETURN count(SELECT * FROM unseal_share) + count(SELECT * FROM snapshot_stage)", nil)
	if err != nil || n != 0 {
		t.Fatalf("unseal shares and staging left: %d %v", n, err)
	}
}

func head(rows []Record) []Record { return rows[:min(len(rows), 2)] }

func TestDamagedSnapshotChangesNothing(t *testing.T) {
	ctx := context.Background()
	src, dst := vaultDB(t), vaultDB(t)
	fill(t, src, 3, 700)
	fill(t, dst, 5, 2)
	var buf bytes.Buffer
	if _, err := Save(ctx, src, &buf, "test", snapKey); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	exec(t, dst, "UPDATE seal:config SET keyring = <bytes>'another vault'", nil)
	before := dump(t, dst)
	cases := map[string][]byte{"truncated": snap[:len(snap)*2/3], "empty": nil, "last byte gone": snap[:len(snap)-1]}
	for _, at := range []int{20, len(snap) / 2, len(snap) - 10} {
		b := bytes.Clone(snap)
		b[at] ^= 0x01
		cases[fmt.Sprintf("byte %d flipped", at)] = b
	}
	cases["another vault, no force"] = snap
	for name, b := range cases {
		_, err := Restore(ctx, dst, bytes.NewReader(b), name != "another vault, no force", snapKey)
		var inv *InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("%s: want InvalidError, got %v", name, err)
		}
	}
	if !reflect.DeepEqual(before, dump(t, dst)) {
		t.Fatal("a refused snapshot changed the vault")
	}
	if n, _ := surreal.Query[int](ctx, dst, "RETURN count(SELECT * FROM snapshot_stage)", nil); n != 0 {
		t.Fatalf("%d staged pages left behind", n)
	}
}

// A page goes on from the id before it, whatever characters the id holds
// (a string id is written into the query as a record range).
func TestPageAfterAnyID(t *testing.T) {
	ctx := context.Background()
	db := vaultDB(t)
	fill(t, db, 1, 20)
	all, err := store{db: db}.page(ctx, "entries", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range all[:len(all)-1] {
		id := row["id"].(models.RecordID)
		rest, err := store{db: db}.page(ctx, "entries", &id)
		if err != nil {
			t.Fatalf("after %q: %v", id.ID, err)
		}
		if len(rest) != len(all)-i-1 || !reflect.DeepEqual(rest[0]["id"], all[i+1]["id"]) {
			t.Fatalf("after %q: %d rows starting at %v, want %d starting at %v", id.ID, len(rest), rest[0]["id"], len(all)-i-1, all[i+1]["id"])
		}
	}
}

// The checksum is a SHA-256 anyone can recompute: a snapshot rewritten
// outside the vault (a token given root, the sums made again) is refused by a
// restore into the same vault without force, as is one without a MAC; forced
// (into another vault, whose keys are not here) it restores as before.
func TestRewrittenSnapshotNeedsForce(t *testing.T) {
	ctx := context.Background()
	src, dst := vaultDB(t), vaultDB(t)
	fill(t, src, 3, 5)
	fill(t, dst, 4, 1)
	exec(t, src, "UPDATE tokens:abc SET policies = ['root', 'finance']", nil)
	var forged, unsigned, honest bytes.Buffer
	if _, err := Save(ctx, src, &forged, "test", []byte("a key that is not the vault's ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(ctx, src, &unsigned, "test", nil); err != nil {
		t.Fatal(err)
	}
	before := dump(t, dst)
	for name, c := range map[string]struct {
		snap []byte
		key  []byte
		want string
	}{
		"re-summed, MAC'd with another key": {forged.Bytes(), snapKey, "its MAC does not match"},
		"no MAC":                            {unsigned.Bytes(), snapKey, "carries no MAC"},
		"vault sealed":                      {forged.Bytes(), nil, "the vault is sealed"},
	} {
		_, err := Restore(ctx, dst, bytes.NewReader(c.snap), false, c.key)
		var inv *InvalidError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q, got %v", name, c.want, err)
		}
	}
	if !reflect.DeepEqual(before, dump(t, dst)) {
		t.Fatal("a refused snapshot changed the vault")
	}
	exec(t, dst, "UPDATE seal:config SET keyring = <bytes>'another vault'", nil)
	if _, err := Restore(ctx, dst, bytes.NewReader(unsigned.Bytes()), true, snapKey); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if _, err := Save(ctx, src, &honest, "test", snapKey); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dst, bytes.NewReader(honest.Bytes()), false, snapKey); err != nil {
		t.Fatalf("the vault's own snapshot: %v", err)
	}
}
