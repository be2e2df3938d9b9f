package surreal

import (
	"context"
	"fmt"
	"time"
)

// FeedCursor is where a reader of a table's change feed (SHOW CHANGES … SINCE)
// stands, for readers that keep a copy of the table in memory.
//
// SurrealDB 3.0.2 stamps a commit (milliseconds << 16) just before the commit
// becomes visible, so a reader can see a later stamp before an earlier one:
// measured here on RocksDB, 8 writers and a reader reading from past the
// newest stamp it saw, 45 of 3 860 commits showed up after a later one, up to
// 4 ms late, and a reader that only moved forward would never have seen them.
// So every read starts FeedMargin before the newest stamp the cursor saw,
// and every FeedDeepEvery FeedOverlap before it, until the feed has been
// quiet long enough that nothing older can still appear; Fresh says which
// of the changes read again are news (per record: a later stamp than the
// last one applied). A change set read before (Unread) brings nothing new:
// a committed transaction's changes do not change.
type FeedCursor struct {
	newest     uint64              // the newest versionstamp seen
	advancedAt time.Time           // when newest last moved
	deepAt     time.Time           // when the last read from FeedOverlap back was planned
	applied    map[string]uint64   // record → the stamp of its change applied last, within the overlap
	read       map[uint64]struct{} // the stamps of the change sets read, within the overlap
}

const (
	// FeedOverlap is how far back a deep read starts: 250 ms of stamps.
	FeedOverlap = 250 << 16
	// FeedMargin is how far back every other read starts: 20 ms of stamps,
	// five times the lateness measured, so that a read that follows an
	// acknowledged write sees it.
	FeedMargin = 20 << 16
	// FeedDeepEvery is how often a read is deep: a read of the whole window
	// costs a few milliseconds under load, a read of what is new much less.
	FeedDeepEvery = 50 * time.Millisecond
	// feedSettled is how long after the newest stamp last moved a commit
	// stamped before it can no longer appear: then reads start past it (the
	// windows behind a feed that went quiet would otherwise be read again and
	// again; after a bulk import that is thousands of changes a read).
	feedSettled = 2 * time.Duration(FeedOverlap>>16) * time.Millisecond
)

// StartFeed places a cursor at the database's present: the first read
// (a deep one) covers what committed just before.
func StartFeed(ctx context.Context, db *Client) (*FeedCursor, error) {
	ms, err := Query[int64](ctx, db, "RETURN time::millis(time::now())", nil)
	if err != nil {
		return nil, fmt.Errorf("start change feed: %w", err)
	}
	return &FeedCursor{newest: uint64(ms) << 16, advancedAt: time.Now(), applied: map[string]uint64{}, read: map[uint64]struct{}{}}, nil
}

// From is the SINCE of the next read, planned at now: FeedMargin back from
// the newest stamp seen, or FeedOverlap back every FeedDeepEvery.
func (c *FeedCursor) From(now time.Time) uint64 {
	// Settled: the newest stamp has not moved for a while, and a deep read
	// ran well after it did, so nothing stamped before it is still to come.
	if now.Sub(c.advancedAt) > feedSettled && c.deepAt.After(c.advancedAt.Add(feedSettled/2)) {
		return c.newest + 1
	}
	if now.Sub(c.deepAt) < FeedDeepEvery {
		return c.newest - min(c.newest, FeedMargin)
	}
	c.deepAt = now
	floor := c.newest - min(c.newest, FeedOverlap)
	for id, vs := range c.applied {
		if vs < floor {
			delete(c.applied, id)
		}
	}
	for vs := range c.read {
		if vs < floor {
			delete(c.read, vs)
		}
	}
	return floor
}

// Unread reports whether the change set stamped vs was not read before,
// and notes it as read. The windows read again (From) bring the same sets
// back, several times while a feed is busy: a reader that skips those does
// not apply each change again (Kogral's index took 591 vectors to link into
// its HNSW graph for 300 nodes imported, and kept its builder busy; Vapora's
// board moved each task of the window again in its sorted column).
// Call it for each set before Fresh for its changes; a set read again still
// moves the cursor.
func (c *FeedCursor) Unread(vs uint64) bool {
	c.Saw(vs)
	if _, ok := c.read[vs]; ok {
		return false
	}
	c.read[vs] = struct{}{}
	return true
}

// Fresh reports whether a change to record id stamped vs is news: later than
// the change of it applied last. It notes it as applied and moves the cursor.
// Changes of one record in one transaction share a stamp and are all fresh.
func (c *FeedCursor) Fresh(id string, vs uint64) bool {
	c.Saw(vs)
	if last, ok := c.applied[id]; ok && last > vs {
		return false
	}
	c.applied[id] = vs
	return true
}

// Saw moves the cursor past vs.
func (c *FeedCursor) Saw(vs uint64) {
	if vs > c.newest {
		c.newest, c.advancedAt = vs, time.Now()
	}
}
