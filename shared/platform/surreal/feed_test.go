package surreal_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

type feedSet struct {
	Versionstamp uint64 `json:"versionstamp"`
	Changes      []struct {
		Update *struct {
			ID models.RecordID `json:"id"`
		} `json:"update"`
	} `json:"changes"`
}

// A reader that follows a change feed through a FeedCursor sees every commit,
// although under concurrent writers some commits become visible after a
// later stamp was read (a reader that only moves forward misses those; the
// test logs how many it missed).
func TestFeedCursorMissesNothing(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_feed")
	if _, err := surreal.Query[any](ctx, c, "DEFINE TABLE rows SCHEMALESS CHANGEFEED 1h", nil); err != nil {
		t.Fatal(err)
	}
	cur, err := surreal.StartFeed(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw := client(t, "t_feed")
			for i := 0; !stop.Load(); i++ {
				if _, err := surreal.Query[any](ctx, cw, fmt.Sprintf("CREATE rows:w%d_%d", w, i), nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	seen, forward := map[string]bool{}, map[string]bool{}
	var newest uint64
	read := func() {
		for _, set := range readFeed(t, c, cur.From(time.Now())) {
			unread := cur.Unread(set.Versionstamp)
			for _, ch := range set.Changes {
				if ch.Update == nil {
					continue // the table's definition
				}
				if id := fmt.Sprint(ch.Update.ID.ID); unread && cur.Fresh(id, set.Versionstamp) {
					seen[id] = true
				}
				if set.Versionstamp > newest || newest == 0 {
					forward[fmt.Sprint(ch.Update.ID.ID)] = true
				}
			}
			newest = max(newest, set.Versionstamp)
		}
	}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		read()
	}
	stop.Store(true)
	wg.Wait()
	time.Sleep(2 * surreal.FeedDeepEvery)
	read()
	n, err := surreal.Query[int](ctx, c, "RETURN count(SELECT id FROM rows)", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d rows committed, the cursor's reader saw %d", n, len(seen))
	}
	t.Logf("%d rows committed; a reader that only moved forward would have missed %d", n, n-len(forward))
}

// A change set that a later read brings again (the windows behind the
// newest stamp overlap) is not unread; one committed since is.
func TestFeedCursorReadsEachSetOnce(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_feed_once")
	if _, err := surreal.Query[any](ctx, c, "DEFINE TABLE rows SCHEMALESS CHANGEFEED 1h", nil); err != nil {
		t.Fatal(err)
	}
	cur, err := surreal.StartFeed(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	create := func(ids ...string) {
		for _, id := range ids {
			if _, err := surreal.Query[any](ctx, c, "CREATE rows:"+id, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	unread := func() (sets []string) {
		time.Sleep(surreal.FeedDeepEvery) // a deep read: the whole window again
		for _, set := range readFeed(t, c, cur.From(time.Now())) {
			if len(set.Changes) > 0 && set.Changes[0].Update != nil && cur.Unread(set.Versionstamp) {
				sets = append(sets, fmt.Sprint(set.Changes[0].Update.ID.ID))
			}
		}
		return sets
	}
	create("a", "b")
	if got := unread(); len(got) != 2 {
		t.Fatalf("first read: unread %v, want a and b", got)
	}
	if got := unread(); len(got) != 0 {
		t.Fatalf("the same window again: unread %v, want none", got)
	}
	create("c")
	if got := unread(); len(got) != 1 || got[0] != "c" {
		t.Fatalf("after c: unread %v, want c", got)
	}
}

func readFeed(t *testing.T, c *surreal.Client, from uint64) []feedSet {
	t.Helper()
	var all []feedSet
	for {
		sets, err := surreal.Query[[]feedSet](context.Background(), c, fmt.Sprintf("SHOW CHANGES FOR TABLE rows SINCE %d LIMIT 1000", from), nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, sets...)
		if len(sets) < 1000 {
			return all
		}
		from = sets[len(sets)-1].Versionstamp + 1
	}
}
