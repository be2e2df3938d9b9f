package llm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// How an instance keeps a role's spend without summing every record on
// every call (SurrealDB here reads ~0.2 ms per record, so a month of records
// cannot be summed per call):
//
//   - the first check of a role reads its records since the month's (or
//     ISO week's) start once: one key range, as ids are [role, written, cid]
//     and a record is written after its call;
//   - then each refresh reads only the records written from overlap before
//     the last read on, and ignores those it has counted (by cid): a record
//     commits within writeTimeout of the time in its key (AddCosts), well
//     inside overlap, however long after its call it was written;
//   - a call's own cost record is counted at once, as pending, whether it
//     was written or only published for vapora-llm-on-cost to write; when a
//     refresh reads it back it is counted already. A pending record that
//     never shows up (dead-lettered) stays counted until its period ends:
//     an instance over-counts, never under-counts, its own calls.
//
// So an instance's figure is exact for its own calls at once, and for
// other instances' calls once they are written (at once without a bus;
// with one, after the consumer's backlog) and its next refresh has run
// (refreshEvery, staleMax after being idle, e.g. a frozen Lambda). The
// bound on overspend of a role, per instance: the calls in flight when
// its limit was crossed, plus the spend of other instances' calls it has
// not seen: those still in vapora.llm.costs (the consumer's backlog) and
// those written in the last refreshEvery (TestAsyncBudgetBoundAcrossInstances).
const (
	overlap      = 2500 * time.Millisecond
	refreshEvery = 500 * time.Millisecond
	staleMax     = 2 * time.Second
)

// roleSpend is one role's spend as this instance knows it.
type roleSpend struct {
	load     sync.Mutex // one refresh at a time
	mu       sync.Mutex // guards the fields below
	ready    bool
	byPeriod map[string]int64 // "2026-11" and "2026-W48" → millionths of a cent
	seen     map[string]int64 // counted record → its key's time, while ≥ readFrom
	pending  map[string]int64 // own records counted but not yet read back → their call's time
	readFrom int64            // the next refresh reads ts ≥ readFrom
	at       time.Time        // when the last refresh read
}

// spendTracker keeps the roles' spend.
type spendTracker struct {
	store *Store
	mu    sync.Mutex
	roles map[string]*roleSpend
}

func newSpendTracker(store *Store) *spendTracker {
	return &spendTracker{store: store, roles: map[string]*roleSpend{}}
}

func (t *spendTracker) role(role string) *roleSpend {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs, ok := t.roles[role]
	if !ok {
		rs = &roleSpend{byPeriod: map[string]int64{}, seen: map[string]int64{}, pending: map[string]int64{}}
		t.roles[role] = rs
	}
	return rs
}

// age is how old the role's figure is (forever before the first read).
func (rs *roleSpend) age() time.Duration {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.ready {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(rs.at)
}

// spend returns a role's spend in the month and week of now. It reads the
// new records first when the figure is older than staleMax, and in the
// background (the call does not wait) when older than refreshEvery.
func (t *spendTracker) spend(ctx context.Context, role string, now time.Time) (monthly, weekly int64, err error) {
	rs := t.role(role)
	switch age := rs.age(); {
	case age > staleMax:
		rs.load.Lock()
		if rs.age() > staleMax {
			err = t.refresh(ctx, role, rs, now)
		}
		rs.load.Unlock()
		if err != nil {
			return 0, 0, err
		}
	case age > refreshEvery && rs.load.TryLock():
		go func() {
			defer rs.load.Unlock()
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := t.refresh(bg, role, rs, time.Now()); err != nil {
				obs.Log(ctx).Warn("refresh spend", "role", role, "err", err)
			}
		}()
	}
	month, week, _ := period(now)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byPeriod[month], rs.byPeriod[week], nil
}

// refresh reads the role's records from readFrom on and counts the new
// ones; the caller holds rs.load, and rs.mu is not held during the read.
func (t *spendTracker) refresh(ctx context.Context, role string, rs *roleSpend, now time.Time) error {
	rs.mu.Lock()
	from, ready := rs.readFrom, rs.ready
	rs.mu.Unlock()
	if !ready {
		from = periodStart(now).UnixNano()
	}
	started := time.Now()
	rows, err := t.store.CostsSince(ctx, role, from)
	if err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rows {
		rs.count(r)
	}
	rs.ready, rs.at = true, started
	rs.readFrom = max(from, started.Add(-overlap).UnixNano())
	for id, ts := range rs.seen {
		if ts < rs.readFrom {
			delete(rs.seen, id)
		}
	}
	ended := periodStart(now).UnixNano() // a pending record of an ended period no longer counts
	for id, ts := range rs.pending {
		if ts < ended {
			delete(rs.pending, id)
		}
	}
	return nil
}

// count adds a record read from the store once; one of this instance's
// own, counted when it was made, is no longer pending. rs.mu is held.
func (rs *roleSpend) count(r spendRow) {
	if _, dup := rs.seen[r.ID]; dup {
		return
	}
	rs.seen[r.ID] = r.TS
	if _, own := rs.pending[r.ID]; own {
		delete(rs.pending, r.ID)
		return
	}
	rs.byPeriod[r.Month] += r.Micros
	rs.byPeriod[r.Week] += r.Micros
}

// add counts a cost record this instance made, at once, as pending until
// a refresh reads it back.
func (t *spendTracker) add(c CostRecord) {
	rs := t.role(c.Role)
	month, week, _ := period(c.Timestamp)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, dup := rs.seen[c.ID]; dup {
		return // written and read back already
	}
	if _, dup := rs.pending[c.ID]; dup {
		return
	}
	rs.pending[c.ID] = c.Timestamp.UnixNano()
	rs.byPeriod[month] += c.CostMicros
	rs.byPeriod[week] += c.CostMicros
}

// pending is how many of the role's own records this instance counts
// without having read them back (tests, logs).
func (t *spendTracker) pending(role string) int {
	rs := t.role(role)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.pending)
}

// sync reads the role's new records now, whatever the figure's age (tests).
func (t *spendTracker) sync(ctx context.Context, role string) error {
	rs := t.role(role)
	rs.load.Lock()
	defer rs.load.Unlock()
	return t.refresh(ctx, role, rs, time.Now())
}

// periodStart is the earlier of the month's and the ISO week's start.
func periodStart(now time.Time) time.Time {
	month, week := monthStart(now), weekStart(now)
	if week.Before(month) {
		return week
	}
	return month
}

func monthStart(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func weekStart(now time.Time) time.Time {
	now = now.UTC()
	wd := (int(now.Weekday()) + 6) % 7 // Monday = 0
	return time.Date(now.Year(), now.Month(), now.Day()-wd, 0, 0, 0, 0, time.UTC)
}

// spendRow is what the tracker reads of a cost record: TS is the time in
// its key (when it was written).
type spendRow struct {
	ID     string `json:"rid"`
	TS     int64  `json:"kts"`
	Month  string `json:"month"`
	Week   string `json:"week"`
	Micros int64  `json:"cost_micros"`
}

// CostsSince reads a role's cost records written at from or later: one key range.
// The role is one of the seed's roles (checked by every caller), so it is
// written into the range literally, quoted.
func (s *Store) CostsSince(ctx context.Context, role string, from int64) ([]spendRow, error) {
	q := fmt.Sprintf("SELECT record::id(id)[2] AS rid, record::id(id)[1] AS kts, month, week, cost_micros FROM llm_costs:[%s, %d]..[%s, 9223372036854775807]",
		quote(role), from, quote(role))
	rows, err := surreal.Query[[]spendRow](ctx, s.db, q, nil)
	if err != nil {
		return nil, fmt.Errorf("read cost records of %s: %w", role, err)
	}
	return rows, nil
}

// quote writes s as a SurrealQL string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
