package vapora

import (
	"context"
	"errors"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// writeThenFollow runs tx, one transaction (surreal.Atomic) whose last
// statement returns T, and in the same round trip a read of the tasks feed
// after it, which the board index then takes in. The context returned says
// so: the index holds every write acknowledged before this one, and a read
// of the board with that context has no read of the feed to wait for (a
// move's order costs no second round trip). Without a cursor to read for
// (the index's first use) it is the write alone.
//
// The query is not one transaction, so the client does not retry it on a
// write conflict: the caller retries (conflicted), since a conflict fails
// the transaction and the feed read after it writes nothing.
func writeThenFollow[T any](ctx context.Context, s *Store, tx string, vars map[string]any) (T, context.Context, error) {
	var zero T
	read, ok := s.board.plan()
	if !ok {
		v, err := surreal.Query[T](ctx, s.db, tx, vars)
		return v, ctx, err
	}
	raw, err := surreal.QueryAll[surreal.RawCBOR](ctx, s.db, tx+"\n"+read.sql(), vars)
	if err != nil {
		return zero, ctx, err
	}
	// BEGIN, the transaction's statements, COMMIT, then the feed's read.
	if len(raw) < 3 {
		return zero, ctx, fmt.Errorf("write and read the task feed: %d results", len(raw))
	}
	var out T
	if err := surreal.UnmarshalCBOR(raw[len(raw)-3], &out); err != nil {
		return zero, ctx, fmt.Errorf("write: %w", err)
	}
	var sets []taskChange
	if err := surreal.UnmarshalCBOR(raw[len(raw)-1], &sets); err != nil {
		return out, ctx, nil // the board catches up the ordinary way
	}
	if err := s.board.absorb(ctx, read, sets); err != nil {
		return out, ctx, nil
	}
	return out, context.WithValue(ctx, arrivalKey{}, read.began), nil
}

// conflicted is a write conflict that failed writeThenFollow's transaction
// (nothing was written): the write can run again.
func conflicted(err error) bool {
	var qe *surreal.QueryError
	return errors.As(err, &qe) && qe.Retryable() && qe.Statement < qe.Statements-1
}

// pageThenFollow reads a page as the board index lists it now and, in the
// same round trip, the tasks feed after it. ok is true when the feed moved
// nothing the page shows (the index, caught up, lists the same tasks at the
// same ranks and the same column sizes): the page then holds every write
// acknowledged before the request. Otherwise (or without a cursor, or with
// the board not loaded) the caller reads the page again the ordinary way,
// with the context returned, whose index has caught up.
func (s *Store) pageThenFollow(ctx context.Context, project string, statuses []string, offset, limit int) (Page, context.Context, bool, error) {
	read, ok := s.board.plan()
	if !ok || !s.board.holds(project) {
		return Page{}, ctx, false, nil
	}
	plan := s.board.pagePlan(project, statuses, offset, limit)
	raw, err := surreal.QueryAll[surreal.RawCBOR](ctx, s.db, pageSQL+";\n"+read.sql(), map[string]any{"ids": plan.ids()})
	if err != nil {
		return Page{}, ctx, false, fmt.Errorf("list tasks: %w", err)
	}
	var rows []pageRow
	var sets []taskChange
	if len(raw) != 2 || surreal.UnmarshalCBOR(raw[0], &rows) != nil || surreal.UnmarshalCBOR(raw[1], &sets) != nil {
		return Page{}, ctx, false, fmt.Errorf("list tasks: %d results", len(raw))
	}
	if err := s.board.absorb(ctx, read, sets); err != nil {
		return Page{}, ctx, false, nil
	}
	ctx = context.WithValue(ctx, arrivalKey{}, read.began)
	if !plan.same(s.board.pagePlan(project, statuses, offset, limit)) {
		return Page{}, ctx, false, nil
	}
	page, ok, err := plan.fill(rows, offset)
	return page, ctx, ok, err
}

// taskThenFollow reads a task's record and, in the same round trip, the
// tasks feed after it, unless the board index has caught up with every write
// acknowledged before the request of ctx arrived (its arrival) already; the
// context returned says what the index holds. A record read before the feed
// that the index then places elsewhere is read again (Task).
func (s *Store) taskThenFollow(ctx context.Context, id string) (*taskRow, context.Context, error) {
	const sql = "SELECT " + fields + " FROM ONLY $id"
	vars := map[string]any{"id": rid("tasks", id)}
	if s.board.caughtUp(arrival(ctx)) {
		r, err := surreal.Query[*taskRow](ctx, s.db, sql, vars)
		return r, ctx, err
	}
	read, ok := s.board.plan()
	if !ok {
		r, err := surreal.Query[*taskRow](ctx, s.db, sql, vars)
		return r, ctx, err
	}
	raw, err := surreal.QueryAll[surreal.RawCBOR](ctx, s.db, sql+";\n"+read.sql(), vars)
	if err != nil {
		return nil, ctx, err
	}
	var r *taskRow
	var sets []taskChange
	if len(raw) != 2 || surreal.UnmarshalCBOR(raw[0], &r) != nil || surreal.UnmarshalCBOR(raw[1], &sets) != nil {
		return nil, ctx, fmt.Errorf("%d results", len(raw))
	}
	if err := s.board.absorb(ctx, read, sets); err != nil {
		return r, ctx, nil // the board catches up the ordinary way
	}
	return r, context.WithValue(ctx, arrivalKey{}, read.began), nil
}
