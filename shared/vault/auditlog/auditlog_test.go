package auditlog

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

var key = []byte("0123456789abcdef0123456789abcdef")

func logDB(t *testing.T) *surreal.Client {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("audit_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/secretumvault"); err != nil {
		t.Fatal(err)
	}
	return db
}

// oneLane appends n entries one after the other: they share one lane.
func oneLane(t *testing.T, db *surreal.Client, n int) string {
	t.Helper()
	a := NewAppender(db, 1)
	for i := range n {
		if err := a.Append(context.Background(), key, fmt.Appendf(nil, `{"n":%d}`, i+1)); err != nil {
			t.Fatal(err)
		}
	}
	lanes, err := surreal.Query[[]string](context.Background(), db, "SELECT VALUE lane FROM audit_log GROUP BY lane", nil)
	if err != nil || len(lanes) != 1 {
		t.Fatalf("lanes %v %v", lanes, err)
	}
	return lanes[0]
}

func TestVerifyFindsEveryBreak(t *testing.T) {
	ctx := context.Background()
	rechain := func(db *surreal.Client, lane string) string {
		// Whoever writes the database, without the key, re-chains with its own.
		other := []byte("not the vault's key, but 32 long")
		prev := Genesis
		for seq := 1; seq <= 4; seq++ {
			entry := fmt.Sprintf(`{"n":%d}`, seq*10)
			link := Link(other, prev, lane, seq, entry)
			if _, err := surreal.Query[any](ctx, db, "UPDATE $id SET entry = $e, prev = $p, hash = $h",
				map[string]any{"id": RecordID(lane, seq), "e": entry, "p": prev, "h": link}); err != nil {
				t.Fatal(err)
			}
			prev = link
		}
		return ""
	}
	cases := map[string]struct {
		tamper func(db *surreal.Client, lane string) string
		want   string
	}{
		"intact": {nil, ""},
		"middle gone": {func(_ *surreal.Client, lane string) string {
			return fmt.Sprintf("DELETE audit_log:⟨%s-000000000002⟩", lane)
		}, "/2 is missing"},
		"entry edited": {func(_ *surreal.Client, lane string) string {
			return fmt.Sprintf("UPDATE audit_log:⟨%s-000000000003⟩ SET entry = '{\"n\":9}'", lane)
		}, "/3 was modified"},
		"re-chained": {rechain, "/1 was modified"},
		"tail removed": {func(_ *surreal.Client, lane string) string {
			return fmt.Sprintf("DELETE audit_log:⟨%s-000000000004⟩", lane)
		}, "/4 and later were removed"},
		"lane removed": {func(_ *surreal.Client, lane string) string { return "DELETE audit_log" }, "/1 and later were removed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			db := logDB(t)
			lane := oneLane(t, db, 4)
			cp, err := Take(ctx, db, key, time.Now(), noLegacy)
			if err != nil || cp.Entries != 4 || cp.Lanes[lane].Seq != 4 {
				t.Fatalf("checkpoint %+v %v", cp, err)
			}
			if c.tamper != nil {
				if q := c.tamper(db, lane); q != "" {
					if _, err := surreal.Query[any](ctx, db, q, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			rep, err := Verify(ctx, db, key, cp)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if !rep.Valid || rep.Entries != 4 || rep.Lanes != 1 {
					t.Fatalf("intact log: %+v", rep)
				}
				return
			}
			if rep.Valid || !strings.Contains(rep.Problem, c.want) {
				t.Fatalf("want %q, got %+v", c.want, rep)
			}
		})
	}
}

// A checkpoint is refused over a log that no longer reaches the last one,
// and one signed with another key does not parse.
func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	db := logDB(t)
	lane := oneLane(t, db, 3)
	cp, err := Take(ctx, db, key, time.Now(), noLegacy)
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Appendf(nil, `{"time":%q,"entries":3,"lanes":{%q:{"seq":3,"hash":%q}},"legacy":{"seq":0,"hash":%q},"mac":%q}`,
		cp.Time, lane, cp.Lanes[lane].Hash, Genesis, cp.MAC)
	if back, err := Parse(raw, key); err != nil || !back.SameHeads(cp) {
		t.Fatalf("parse: %+v %v", back, err)
	}
	if _, err := Parse(raw, []byte("another key")); err == nil {
		t.Fatal("a checkpoint parsed with another key")
	}
	if _, err := Parse([]byte(strings.Replace(string(raw), `"seq":3`, `"seq":2`, 1)), key); err == nil {
		t.Fatal("an edited checkpoint parsed")
	}
	if problem, err := Extends(ctx, db, cp); err != nil || problem != "" {
		t.Fatalf("an intact log: %q %v", problem, err)
	}
	if _, err := surreal.Query[any](ctx, db, fmt.Sprintf("DELETE audit_log:⟨%s-000000000003⟩", lane), nil); err != nil {
		t.Fatal(err)
	}
	if problem, err := Extends(ctx, db, cp); err != nil || !strings.Contains(problem, "/3, anchored by the checkpoint") {
		t.Fatalf("a truncated log: %q %v", problem, err)
	}
}

// Many writers at once never compete: each append is one CREATE on a lane
// of its own, and every lane verifies.
func TestConcurrentAppendsDoNotCompete(t *testing.T) {
	db := logDB(t)
	a := NewAppender(db, 64)
	const writers, each = 40, 10
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- a.Append(context.Background(), key, fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Verify(context.Background(), db, key, nil)
	if err != nil || !rep.Valid || rep.Entries != writers*each || rep.Lanes > writers {
		t.Fatalf("%+v %v", rep, err)
	}
}

// legacyChain writes n lane-less entries, as the vault did before lanes.
func legacyChain(t *testing.T, db *surreal.Client, from, n int, prev string) string {
	t.Helper()
	for seq := from; seq < from+n; seq++ {
		entry := fmt.Sprintf(`{"old":%d}`, seq)
		hash := legacyLink(prev, entry)
		if _, err := surreal.Query[any](context.Background(), db, "CREATE $id CONTENT { seq: $seq, prev: $prev, hash: $hash, entry: $entry }",
			map[string]any{"id": RecordID("", seq), "seq": seq, "prev": prev, "hash": hash, "entry": entry}); err != nil {
			t.Fatal(err)
		}
		prev = hash
	}
	return prev
}

// Entries written before lanes (one unkeyed chain, no lane) still verify up
// to the head frozen in the checkpoints, and an edit among them is named;
// anyone can compute an unkeyed link, so a lane-less entry appended beyond
// that head is refused by verify and never anchored.
func TestLegacyChainIsFrozen(t *testing.T) {
	ctx := context.Background()
	db := logDB(t)
	head := legacyChain(t, db, 1, 3, Genesis)
	oneLaneAlongside := NewAppender(db, 1)
	if err := oneLaneAlongside.Append(ctx, key, []byte(`{"new":1}`)); err != nil {
		t.Fatal(err)
	}
	// A checkpoint from before freezing existed anchors the legacy head as lane "".
	legacy, err := LegacyHead(ctx, db, nil)
	if err != nil || legacy != (Head{Seq: 3, Hash: head}) {
		t.Fatalf("legacy head %+v %v", legacy, err)
	}
	old, err := Take(ctx, db, key, time.Now(), legacy)
	if err != nil {
		t.Fatal(err)
	}
	old.Legacy = nil
	old.MAC = old.mac(key)
	if legacy, err = LegacyHead(ctx, db, old); err != nil || legacy != (Head{Seq: 3, Hash: head}) {
		t.Fatalf("legacy head from an older checkpoint %+v %v", legacy, err)
	}
	cp, err := Take(ctx, db, key, time.Now(), legacy)
	if err != nil || cp.Legacy == nil || *cp.Legacy != legacy {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
	if back, err := LegacyHead(ctx, db, cp); err != nil || back != legacy {
		t.Fatalf("legacy head from a checkpoint %+v %v", back, err)
	}
	if rep, err := Verify(ctx, db, key, cp); err != nil || !rep.Valid || rep.Entries != 4 || rep.Lanes != 2 {
		t.Fatalf("legacy and lanes: %+v %v", rep, err)
	}

	// Someone with database write appends to the legacy chain.
	legacyChain(t, db, 4, 2, head)
	for _, c := range []*Checkpoint{cp, old} {
		rep, err := Verify(ctx, db, key, c)
		if err != nil || rep.Valid || !strings.Contains(rep.Problem, "entry 5 has no lane, beyond the legacy chain's frozen end (entry 3)") {
			t.Fatalf("an extended legacy chain: %+v %v", rep, err)
		}
	}
	if _, err := Take(ctx, db, key, time.Now(), *cp.Legacy); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("an extended legacy chain was anchored: %v", err)
	}
	if _, err := surreal.Query[any](ctx, db, "DELETE audit_log:⟨000000000004⟩, audit_log:⟨000000000005⟩; UPDATE audit_log:⟨000000000002⟩ SET entry = '{\"old\":9}'", nil); err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(ctx, db, key, cp); err != nil || rep.Valid || rep.Problem != "entry 2 was modified" {
		t.Fatalf("an edited legacy entry: %+v %v", rep, err)
	}
}

// A vault that never had a legacy chain refuses any lane-less entry, also one
// chained from the genesis exactly as the legacy chain was.
func TestNoLegacyChainRefusesLanelessEntries(t *testing.T) {
	ctx := context.Background()
	db := logDB(t)
	oneLane(t, db, 2)
	legacy, err := LegacyHead(ctx, db, nil)
	if err != nil || legacy != noLegacy {
		t.Fatalf("legacy head %+v %v", legacy, err)
	}
	cp, err := Take(ctx, db, key, time.Now(), legacy)
	if err != nil {
		t.Fatal(err)
	}
	legacyChain(t, db, 1, 2, Genesis)
	rep, err := Verify(ctx, db, key, cp)
	if err != nil || rep.Valid || !strings.Contains(rep.Problem, "this vault has no legacy chain") {
		t.Fatalf("a planted legacy chain: %+v %v", rep, err)
	}
	if frozen, err := LegacyHead(ctx, db, cp); err != nil || frozen != noLegacy {
		t.Fatalf("the checkpoint no longer holds the vault legacy-free: %+v %v", frozen, err)
	}
	if _, err := Take(ctx, db, key, time.Now(), legacy); err == nil {
		t.Fatal("a planted legacy chain was anchored")
	}
}
