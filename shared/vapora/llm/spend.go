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
//   - the first check of a role reads its records of the current month and
//     ISO week once (one key range: ids are [role, ts, random]);
//   - then each refresh reads only the records from overlap before the last
//     read on, and ignores those it has counted (by id): a record committed
//     up to overlap after its ts is still seen, and AddCost gives up after
//     2 s, well inside overlap;
//   - a call's own cost record is counted as soon as it is written.
//
// So an instance's figure is exact for its own calls at once and for other
// instances' calls within refreshEvery (at most staleMax when it had been
// idle, e.g. a frozen Lambda). The bound on overspend, per instance: the
// calls already in flight when the limit was crossed, plus the calls other
// instances finished in the last refreshEvery.
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
	seen     map[string]int64 // counted record → its ts, while ts ≥ readFrom
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
		rs = &roleSpend{byPeriod: map[string]int64{}, seen: map[string]int64{}}
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
	return nil
}

// count adds a record once; rs.mu is held.
func (rs *roleSpend) count(r spendRow) {
	if _, dup := rs.seen[r.ID]; dup {
		return
	}
	rs.seen[r.ID] = r.TS
	rs.byPeriod[r.Month] += r.Micros
	rs.byPeriod[r.Week] += r.Micros
}

// add counts a cost record this instance wrote, at once.
func (t *spendTracker) add(c CostRecord) {
	rs := t.role(c.Role)
	month, week, _ := period(c.Timestamp)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.count(spendRow{ID: c.ID, TS: c.Timestamp.UnixNano(), Month: month, Week: week, Micros: c.CostMicros})
}

// periodStart is the earlier of the month's and the ISO week's start.
func periodStart(now time.Time) time.Time {
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	wd := (int(now.Weekday()) + 6) % 7 // Monday = 0
	week := time.Date(now.Year(), now.Month(), now.Day()-wd, 0, 0, 0, 0, time.UTC)
	if week.Before(month) {
		return week
	}
	return month
}

// spendRow is what the tracker reads of a cost record.
type spendRow struct {
	ID     string `json:"rid"`
	TS     int64  `json:"ts"`
	Month  string `json:"month"`
	Week   string `json:"week"`
	Micros int64  `json:"cost_micros"`
}

// CostsSince reads a role's cost records with ts ≥ from: one key range.
// The role is one of the seed's roles (checked by every caller), so it is
// written into the range literally, quoted.
func (s *Store) CostsSince(ctx context.Context, role string, from int64) ([]spendRow, error) {
	q := fmt.Sprintf("SELECT record::id(id)[2] AS rid, ts, month, week, cost_micros FROM llm_costs:[%s, %d]..[%s, 9223372036854775807]",
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
