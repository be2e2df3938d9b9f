package vapora

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// describe is an entry as "kind from→to by", for comparisons.
func describe(e HistoryEntry) string {
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	n := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%s %s>%s %s>%s %s>%s %s", e.Kind, s(e.FromStatus), e.ToStatus, s(e.FromAgent), s(e.ToAgent),
		n(e.FromOrder), n(e.ToOrder), e.By)
}

func historyOf(t *testing.T, s *Store, task string) []string {
	t.Helper()
	h, err := s.History(context.Background(), task, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = describe(e)
		if e.TaskID != task || e.At.IsZero() || e.ID == "" {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	return out
}

// Every write that moves, reorders or assigns a task leaves one entry, with
// who made it; a refused or no-op write leaves none.
func TestHistoryIsWrittenWithEachChange(t *testing.T) {
	s := testStores(t, "history_each", 1)[0]
	ctx := WithActor(context.Background(), "ana")
	_, ids := newBoard(t, s, 3)
	a := ids[2]
	if _, err := s.SetStatus(ctx, a, "Doing"); err != nil {
		t.Fatal(err)
	}
	var mv *MoveError
	if _, err := s.SetStatus(ctx, a, "Done"); !errors.As(err, &mv) { // skips Review: refused
		t.Fatalf("skipped step: %v", err)
	}
	if _, err := s.SetStatus(ctx, a, "Doing"); err != nil { // already there: nothing written
		t.Fatal(err)
	}
	cur, err := s.Task(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	putAgent(t, s, "agent-7", "Developer") // the assignment takes its load
	if _, err := s.SetAssignment(WithActor(context.Background(), "bob"), cur, "agent-7", "go"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, a, "Todo"); err != nil {
		t.Fatal(err)
	}
	cur, _ = s.Task(ctx, a)
	if _, err := s.Reorder(ctx, cur, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reorder(ctx, cur, 0); err != nil { // already first: nothing written
		t.Fatal(err)
	}
	cur, _ = s.Task(ctx, a)
	if _, err := s.move(context.Background(), cur, "Doing", nil); err != nil { // a consumer: no actor named
		t.Fatal(err)
	}
	want := []string{
		"created ->Todo ->- ->- vapora",
		"status Todo>Doing ->- ->- ana",
		"assigned Doing>Doing ->agent-7 ->- bob",
		"status Doing>Todo agent-7>agent-7 ->- ana",
		"order Todo>Todo agent-7>agent-7 2>0 ana",
		"status Todo>Doing agent-7>- ->- vapora",
	}
	if got := historyOf(t, s, a); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := historyOf(t, s, ids[0]); len(got) != 1 {
		t.Fatalf("an untouched card has %v", got)
	}
}

// A write whose condition fails commits nothing, history included; the
// history is read a page at a time.
func TestHistoryPagesAndFailedWrites(t *testing.T) {
	s := testStores(t, "history_pages", 1)[0]
	ctx := WithActor(context.Background(), "ana")
	_, ids := newBoard(t, s, 1)
	a := ids[0]
	for i := range 6 {
		to := []string{"Doing", "Todo"}[i%2]
		if _, err := s.SetStatus(ctx, a, to); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := s.Task(ctx, a)
	stale := cur
	stale.Status = "Review" // as read before someone moved it: the move's condition fails
	if _, err := s.move(ctx, stale, "Done", nil); !errors.Is(err, errStale) {
		t.Fatalf("stale move: %v", err)
	}
	if _, err := s.setAssignmentRow(ctx, stale, "agent-1", "go"); !errors.Is(err, errStale) {
		t.Fatalf("stale assignment: %v", err)
	}
	var all []HistoryEntry
	for offset := 0; ; {
		page, err := s.History(ctx, a, offset, 3)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Entries...)
		offset += len(page.Entries)
		if !page.More {
			break
		}
		if len(page.Entries) != 3 {
			t.Fatalf("a page before the last has %d entries", len(page.Entries))
		}
	}
	if len(all) != 7 {
		t.Fatalf("%d entries, want 7 (created and six moves)", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.Before(all[i-1].At) {
			t.Fatalf("entries out of order at %d", i)
		}
		if *all[i].FromStatus != all[i-1].ToStatus {
			t.Fatalf("entry %d starts from %s, the one before ended at %s", i, *all[i].FromStatus, all[i-1].ToStatus)
		}
	}
}
