package vapora

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// testStores returns n stores over one fresh database, each with a
// connection and a board index of its own, as n Lambda instances have.
func testStores(t *testing.T, database string, n int) []*Store {
	t.Helper()
	stores := make([]*Store, n)
	for i := range stores {
		db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: database}, nil)
		t.Cleanup(func() { _ = db.Close() })
		if i == 0 {
			if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/vapora"); err != nil {
				t.Fatal(err)
			}
		}
		stores[i] = NewStore(db, nil)
	}
	return stores
}

func newBoard(t *testing.T, s *Store, cards int) (string, []string) {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProject(ctx, Project{Name: "board", Scope: "demo", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, cards)
	for i := range ids {
		task, err := s.CreateTask(ctx, Task{ProjectID: p.ID, Scope: "demo", Title: fmt.Sprint("card ", i), Status: "Todo", Priority: "Medium", Tags: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		if task.Order != i {
			t.Fatalf("card %d created at order %d", i, task.Order)
		}
		ids[i] = task.ID
	}
	return p.ID, ids
}

// checkBoard asserts what every reader must agree on: each card in exactly
// one column, each column's orders 0..n-1, and the page and each task read
// alone telling the same story, from every instance.
func checkBoard(t *testing.T, stores []*Store, project string, cards []string) {
	t.Helper()
	ctx := context.Background()
	for i, s := range stores {
		page, err := s.Tasks(ctx, project, "", 0, maxTestPage)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tasks) != len(cards) {
			t.Fatalf("instance %d lists %d cards, want %d", i, len(page.Tasks), len(cards))
		}
		seen, next := map[string]bool{}, map[string]int{}
		for _, task := range page.Tasks {
			if seen[task.ID] {
				t.Fatalf("instance %d lists %s twice", i, task.ID)
			}
			seen[task.ID] = true
			if task.Order != next[task.Status] {
				t.Fatalf("instance %d: %s column has order %d where %d belongs", i, task.Status, task.Order, next[task.Status])
			}
			next[task.Status]++
			alone, err := s.Task(ctx, task.ID)
			if err != nil {
				t.Fatal(err)
			}
			if alone.Status != task.Status || alone.Order != task.Order {
				t.Fatalf("instance %d: %s listed as %s/%d, read alone as %s/%d", i, task.ID, task.Status, task.Order, alone.Status, alone.Order)
			}
		}
		for st, n := range next {
			if page.Totals[st] != n {
				t.Fatalf("instance %d: %s total %d, listed %d", i, st, page.Totals[st], n)
			}
		}
	}
}

const maxTestPage = 1000

// Moves and reorders from several instances at once leave every column
// dense and every card in one place, as every instance sees it.
func TestBoardStaysConsistentUnderConcurrentWriters(t *testing.T) {
	stores := testStores(t, "t_board_concurrent", 4)
	project, cards := newBoard(t, stores[0], 24)
	next := map[string][]string{"Todo": {"Doing"}, "Doing": {"Todo", "Review"}, "Review": {"Doing", "Done"}, "Done": {"Review"}}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, rng := stores[w%len(stores)], rand.New(rand.NewPCG(uint64(w), 7))
			for range 40 {
				if err := randomEdit(s, rng, cards, next); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkBoard(t, stores, project, cards)
}

// randomEdit moves a random card one step or reorders it; refusals that a
// concurrent edit explains (a stale read, a move from a column it left) are
// fine, anything else is not.
func randomEdit(s *Store, rng *rand.Rand, cards []string, next map[string][]string) error {
	ctx := context.Background()
	task, err := s.Task(ctx, cards[rng.IntN(len(cards))])
	if err != nil {
		return err
	}
	var mv *MoveError
	var rng2 *OrderRangeError
	if rng.IntN(2) == 0 {
		to := next[task.Status][rng.IntN(len(next[task.Status]))]
		_, err = s.SetStatus(ctx, task.ID, to)
	} else {
		page, perr := s.Tasks(ctx, task.ProjectID, task.Status, 0, maxTestPage)
		if perr != nil {
			return perr
		}
		_, err = s.Reorder(ctx, task, rng.IntN(max(1, page.Totals[task.Status])))
	}
	if errors.Is(err, errStale) || errors.As(err, &mv) || errors.As(err, &rng2) {
		return nil
	}
	return err
}

// The records alone (what a read answers when its task keeps moving under
// the board index) give each task and each page as the index does.
func TestRecordsAloneAnswerAsTheIndex(t *testing.T) {
	ctx := context.Background()
	s := testStores(t, "t_board_records", 1)[0]
	project, cards := newBoard(t, s, 12)
	for i, steps := range []int{1, 1, 2, 3, 1} { // Doing, Doing, Review, Done, Doing
		for _, to := range TaskStatuses[1 : 1+steps] {
			if _, err := s.SetStatus(ctx, cards[i*2], to); err != nil {
				t.Fatal(err)
			}
		}
	}
	last, err := s.Task(ctx, cards[11])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reorder(ctx, last, 0); err != nil {
		t.Fatal(err)
	}
	for _, id := range cards {
		want, err := s.Task(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.taskFromRecords(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("task %s from its records:\n%+v\nfrom the index:\n%+v", id, got, want)
		}
	}
	if _, err := s.taskFromRecords(ctx, "nosuchtask"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a missing task: %v", err)
	}
	for _, w := range []struct {
		status        string
		offset, limit int
	}{{"", 0, maxTestPage}, {"", 1, 2}, {"Todo", 2, 3}, {"Doing", 0, 1}, {"Review", 5, 10}} {
		statuses := TaskStatuses
		if w.status != "" {
			statuses = []string{w.status}
		}
		want, err := s.Tasks(ctx, project, w.status, w.offset, w.limit)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.pageFromRecords(ctx, project, statuses, w.offset, w.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("page %+v from the records:\n%+v\nfrom the index:\n%+v", w, got, want)
		}
	}
}

// A reorder lands where it was asked, read from another instance too, and
// a column whose gaps run out is spread without changing its order.
func TestReorderPlacesAndSpreads(t *testing.T) {
	ctx := context.Background()
	stores := testStores(t, "t_board_reorder", 2)
	project, cards := newBoard(t, stores[0], 6)
	want := slices.Clone(cards)
	for i := range 70 { // into the same slot: the gap halves each time, then the column is spread
		s := stores[i%2]
		last := want[len(want)-1]
		task, err := s.Task(ctx, last)
		if err != nil {
			t.Fatal(err)
		}
		moved, err := s.Reorder(ctx, task, 1)
		if err != nil {
			t.Fatalf("reorder %d: %v", i, err)
		}
		if moved.Order != 1 {
			t.Fatalf("reorder %d: order %d, want 1", i, moved.Order)
		}
		want = slices.Insert(want[:len(want)-1], 1, last)
	}
	page, err := stores[1].Tasks(ctx, project, "Todo", 0, maxTestPage)
	if err != nil {
		t.Fatal(err)
	}
	for i, task := range page.Tasks {
		if task.ID != want[i] || task.Order != i {
			t.Fatalf("position %d holds %s (order %d), want %s", i, task.ID, task.Order, want[i])
		}
	}
	if _, err := stores[0].Reorder(ctx, page.Tasks[0], 6); !errors.As(err, new(*OrderRangeError)) {
		t.Fatalf("order past the column: %v", err)
	}
	checkBoard(t, stores, project, cards)
}

// A page is a window of each column; the totals count the whole column.
func TestTasksPage(t *testing.T) {
	ctx := context.Background()
	stores := testStores(t, "t_board_page", 1)
	project, cards := newBoard(t, stores[0], 7)
	page, err := stores[0].Tasks(ctx, project, "", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != 3 || page.Totals["Todo"] != 7 || page.Totals["Done"] != 0 {
		t.Fatalf("page %+v", page)
	}
	for i, task := range page.Tasks {
		if task.ID != cards[2+i] || task.Order != 2+i {
			t.Fatalf("page position %d: %s order %d", i, task.ID, task.Order)
		}
	}
}

// A status move answers the task's order in its new column counting every
// move acknowledged before it, from any instance (the instances hold the
// board, so each catches up while it writes); a reorder answers the place
// asked, which every instance then agrees on; a missing task is not found.
func TestMovesAnswerTheirOrderAcrossInstances(t *testing.T) {
	ctx := context.Background()
	stores := testStores(t, "t_board_move_order", 2)
	project, cards := newBoard(t, stores[0], 8)
	for _, s := range stores {
		if _, err := s.Tasks(ctx, project, "", 0, maxTestPage); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range cards {
		moved, err := stores[i%2].SetStatus(ctx, id, "Doing")
		if err != nil {
			t.Fatal(err)
		}
		if moved.Status != "Doing" || moved.Order != i || moved.Title != fmt.Sprint("card ", i) {
			t.Fatalf("move %d: %s at %d (%q), want Doing at %d", i, moved.Status, moved.Order, moved.Title, i)
		}
	}
	if same, err := stores[1].SetStatus(ctx, cards[3], "Doing"); err != nil || same.Order != 3 {
		t.Fatalf("a move to its own column: order %d, %v; want 3", same.Order, err)
	}
	for i, s := range stores {
		moved, err := s.Reorder(ctx, Task{ID: cards[7-i], ProjectID: project}, i)
		if err != nil || moved.Order != i || moved.Status != "Doing" {
			t.Fatalf("reorder %d: %s at %d, %v; want Doing at %d", i, moved.Status, moved.Order, err, i)
		}
	}
	want := []string{cards[7], cards[6], cards[0], cards[1], cards[2], cards[3], cards[4], cards[5]}
	for i, s := range stores {
		page, err := s.Tasks(ctx, project, "Doing", 0, maxTestPage)
		if err != nil {
			t.Fatal(err)
		}
		for j, task := range page.Tasks {
			if task.ID != want[j] || task.Order != j {
				t.Fatalf("instance %d: position %d holds %s (order %d), want %s", i, j, task.ID, task.Order, want[j])
			}
		}
	}
	if _, err := stores[1].Reorder(ctx, Task{ID: "task_missing", ProjectID: project}, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reorder of a missing task: %v", err)
	}
	checkBoard(t, stores, project, cards)
}

// A request that lets the board catch up while it reads (Arrive) sees every
// write acknowledged before it arrived, and a task moved after it arrived
// still reads with the order it has now.
func TestArriveCatchesUpWhileTheRequestReads(t *testing.T) {
	ctx := context.Background()
	stores := testStores(t, "t_board_arrive", 2)
	project, cards := newBoard(t, stores[0], 4)
	if _, err := stores[1].Tasks(ctx, project, "", 0, maxTestPage); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].SetStatus(ctx, cards[0], "Doing"); err != nil {
		t.Fatal(err)
	}
	actx, wait := stores[1].Arrive(ctx)
	got, err := stores[1].Task(actx, cards[1])
	wait()
	if err != nil || got.Status != "Todo" || got.Order != 0 {
		t.Fatalf("card 1 after card 0 left Todo: %s at %d, %v; want Todo at 0", got.Status, got.Order, err)
	}
	actx, wait = stores[1].Arrive(ctx)
	defer wait()
	if _, err := stores[0].SetStatus(ctx, cards[2], "Doing"); err != nil {
		t.Fatal(err)
	}
	got, err = stores[1].Task(actx, cards[2])
	if err != nil || got.Status != "Doing" || got.Order != 1 {
		t.Fatalf("card 2 moved after the request arrived: %s at %d, %v; want Doing at 1", got.Status, got.Order, err)
	}
	page, err := stores[1].Tasks(actx, project, "Todo", 0, maxTestPage)
	if err != nil || len(page.Tasks) != 2 || page.Tasks[0].ID != cards[1] || page.Tasks[1].ID != cards[3] {
		t.Fatalf("Todo page: %+v, %v; want cards 1 and 3", page.Tasks, err)
	}
}
