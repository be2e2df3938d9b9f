package vapora

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// checkStore is a Store on a fresh database of the package's SurrealDB (no
// locks: the check and the repair take none).
func checkStore(t *testing.T) *Store {
	t.Helper()
	return testStores(t, fmt.Sprintf("vapora_check_%d", time.Now().UnixNano()), 1)[0]
}

// boardWithDoing makes a project with n tasks in Todo, then moves the first `doing` to Doing.
func boardWithDoing(t *testing.T, s *Store, n, doing int) (string, []Task) {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProject(ctx, Project{Name: "check", Scope: "demo", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	var tasks []Task
	for i := range n {
		tk, err := s.CreateTask(ctx, Task{ProjectID: p.ID, Scope: "demo", Title: fmt.Sprint("t", i), Status: "Todo", Priority: "Medium", Tags: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		if i < doing {
			if tk, err = s.SetStatus(ctx, tk.ID, "Doing"); err != nil {
				t.Fatal(err)
			}
		}
		tasks = append(tasks, tk)
	}
	return p.ID, tasks
}

// kinds indexes a report's problems: kind → task ids.
func kinds(rep BoardReport) map[string][]string {
	out := map[string][]string{}
	for _, p := range rep.Problems {
		out[p.Kind] = append(out[p.Kind], p.TaskID)
	}
	return out
}

// breakIndex puts task b on task a's rank, bypassing the unique index: the
// index is removed, the rank written, and the index defined again in the
// background (CONCURRENTLY), whose build then fails on the duplicate. That
// leaves a defined unique index that lists nothing and ignores later writes:
// what a board looks like after the index and its records parted.
func breakIndex(t *testing.T, s *Store, a, b Task) {
	t.Helper()
	ctx := context.Background()
	_, err := surreal.Query[any](ctx, s.db, `REMOVE INDEX idx_tasks_rank ON TABLE tasks;
UPDATE $b SET rank = $a.rank;
DEFINE INDEX idx_tasks_rank ON tasks FIELDS project_id, status, rank UNIQUE CONCURRENTLY;`,
		map[string]any{"a": rid("tasks", a.ID), "b": rid("tasks", b.ID)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := surreal.Query[map[string]any](ctx, s.db, "INFO FOR INDEX idx_tasks_rank ON tasks", nil)
		if err != nil {
			t.Fatal(err)
		}
		switch st := fmt.Sprint(info["building"]); {
		case strings.Contains(st, "status:error"):
			return
		case strings.Contains(st, "status:ready"):
			t.Fatalf("the index build did not fail on the duplicate rank: %s", st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("index build still running: %v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBoardCheckAndRepair(t *testing.T) {
	ctx := context.Background()
	s := checkStore(t)
	pid, tasks := boardWithDoing(t, s, 6, 2) // Doing: t0 t1; Todo: t2..t5
	other, _ := boardWithDoing(t, s, 3, 0)

	t.Run("a sound board checks clean", func(t *testing.T) {
		rep, err := s.CheckBoard(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Clean || rep.Tasks != 6 || rep.Columns["Todo"] != 4 || rep.Columns["Doing"] != 2 || len(rep.Problems) != 0 || rep.IndexStatus != "ready" {
			t.Fatalf("report: %+v", rep)
		}
		fixed, err := s.RepairBoard(ctx, pid)
		if err != nil || !fixed.After.Clean || len(fixed.Reranked) != 0 || fixed.RebuiltIndex {
			t.Fatalf("repairing a clean board did something: %+v %v", fixed, err)
		}
	})

	// t4 lands on t3's rank; the index then lists no card at all.
	breakIndex(t, s, tasks[3], tasks[4])
	clash := max(tasks[3].ID, tasks[4].ID) // ties break by id: the later id is the second on the rank

	t.Run("the check finds each problem", func(t *testing.T) {
		rep, err := s.CheckBoard(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		k := kinds(rep)
		t.Logf("found: %v", k)
		if rep.IndexStatus != "error" || !strings.Contains(rep.IndexError, "already contains") {
			t.Fatalf("index build status %q (%q), want the failed build", rep.IndexStatus, rep.IndexError)
		}
		if rep.Clean || !slices.Equal(k[ProblemRankClash], []string{clash}) {
			t.Fatalf("rank clash: %v (report %+v)", k[ProblemRankClash], rep)
		}
		if len(k[ProblemUnindexed]) != 6 {
			t.Fatalf("unindexed: %v, want all 6 cards", k[ProblemUnindexed])
		}
		// With no index entry, every card but each column's first is out of order.
		if len(k[ProblemOrder]) != 4 {
			t.Fatalf("order: %v, want 4 (3 of Todo, 1 of Doing)", k[ProblemOrder])
		}
		for _, p := range rep.Problems {
			if len(p.Columns) == 0 || p.Detail == "" {
				t.Fatalf("problem without column or detail: %+v", p)
			}
		}
	})

	t.Run("repair leaves dense columns, each card in one", func(t *testing.T) {
		page, err := s.Tasks(ctx, pid, "", 0, maxTestPage)
		before := page.Tasks
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.RepairBoard(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("repair: re-ranked %v, index rebuilt %v, %d attempts", res.Reranked, res.RebuiltIndex, res.Attempts)
		if res.Before.Clean || !res.After.Clean || !res.RebuiltIndex || res.After.IndexStatus != "ready" {
			t.Fatalf("repair: %+v", res)
		}
		if !slices.Contains(res.Reranked, "Todo") || !slices.Contains(res.Reranked, "Doing") {
			t.Fatalf("re-ranked %v, want Todo and Doing", res.Reranked)
		}
		after := assertDense(t, s, pid, 6)
		// The records' order is kept: the same cards in the same columns, in the same order.
		for i := range before {
			if before[i].ID != after[i].ID || before[i].Status != after[i].Status {
				t.Fatalf("card %d: %s/%s before, %s/%s after", i, before[i].ID, before[i].Status, after[i].ID, after[i].Status)
			}
		}
		if rep, err := s.CheckBoard(ctx, other); err != nil || !rep.Clean {
			t.Fatalf("the other project after the rebuild: %+v %v", rep, err)
		}
	})

	t.Run("a repair step that finds its card changed writes nothing", func(t *testing.T) {
		page, err := s.Tasks(ctx, pid, "Todo", 0, maxTestPage)
		col := page.Tasks
		if err != nil {
			t.Fatal(err)
		}
		var recs []boardRecord
		for _, tk := range col {
			r, err := surreal.Query[*boardRecord](ctx, s.db, "SELECT record::id(id) AS id, project_id, status, rank FROM ONLY $id",
				map[string]any{"id": rid("tasks", tk.ID)})
			if err != nil || r == nil {
				t.Fatal(r, err)
			}
			recs = append(recs, *r)
		}
		steps := rerankColumn(recs, math.MinInt64/2)
		steps[len(steps)-1].Old++ // a writer moved the last card meanwhile
		if err := s.applyRerank(ctx, pid, steps); !errors.Is(err, errBoardChanged) {
			t.Fatalf("stale step: %v, want errBoardChanged", err)
		}
		for _, r := range recs {
			now, _ := surreal.Query[*boardRecord](ctx, s.db, "SELECT record::id(id) AS id, project_id, status, rank FROM ONLY $id",
				map[string]any{"id": rid("tasks", r.ID)})
			if now == nil || now.Rank != r.Rank {
				t.Fatalf("%s: rank %v, was %d: the cancelled transaction wrote", r.ID, now, r.Rank)
			}
		}
	})
}

// assertDense checks that every card is in exactly one column, each column
// ordered 0..n-1, as the list and each card read alone say; it returns the list.
func assertDense(t *testing.T, s *Store, project string, n int) []Task {
	t.Helper()
	ctx := context.Background()
	page, err := s.Tasks(ctx, project, "", 0, maxTestPage)
	list := page.Tasks
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d cards, want %d", len(list), n)
	}
	seen, next := map[string]bool{}, map[string]int{}
	for _, tk := range list {
		if seen[tk.ID] {
			t.Fatalf("%s listed twice", tk.ID)
		}
		seen[tk.ID] = true
		if tk.Order != next[tk.Status] {
			t.Fatalf("%s: order %d in %s, want %d", tk.ID, tk.Order, tk.Status, next[tk.Status])
		}
		next[tk.Status]++
		alone, err := s.Task(ctx, tk.ID)
		if err != nil || alone.Status != tk.Status || alone.Order != tk.Order {
			t.Fatalf("%s alone: %s/%d (%v), listed %s/%d", tk.ID, alone.Status, alone.Order, err, tk.Status, tk.Order)
		}
	}
	return list
}

// The judge on its own, for what a real board is hard to break into on purpose:
// a card the index lists in two columns, or twice in one.
func TestJudgeBoard(t *testing.T) {
	rec := func(id, status string, rank int64) boardRecord {
		return boardRecord{ID: id, ProjectID: "p", Status: status, Rank: rank}
	}
	records := []boardRecord{rec("a", "Todo", 10), rec("b", "Todo", 20), rec("c", "Doing", 5)}
	sound := indexListing{Todo: []boardRecord{records[0], records[1]}, Doing: []boardRecord{records[2]}}
	if rep := judgeBoard(records, sound); !rep.Clean {
		t.Fatalf("sound board: %+v", rep.Problems)
	}
	// c moved to Doing but its Todo entry stayed; a's entry is listed twice.
	broken := indexListing{Todo: []boardRecord{records[0], records[0], records[2], records[1]}, Doing: []boardRecord{records[2]}}
	k := kinds(judgeBoard(records, broken))
	if !slices.Equal(k[ProblemMisplaced], []string{"c"}) || !slices.Equal(k[ProblemDuplicateEntry], []string{"a"}) {
		t.Fatalf("problems: %v", k)
	}
	if !slices.Equal(k[ProblemOrder], []string{"a", "b"}) { // a has c's entry below it, b three
		t.Fatalf("order: %v", k[ProblemOrder])
	}
}

// The scheduled check walks every Active project, and only those.
func TestActiveProjects(t *testing.T) {
	ctx := context.Background()
	s := checkStore(t)
	active, err := s.CreateProject(ctx, Project{Name: "on", Scope: "demo", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, Project{Name: "off", Scope: "other", Status: "Archived"}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.ActiveProjects(ctx)
	if err != nil || !slices.Equal(ids, []string{active.ID}) {
		t.Fatalf("active projects %v (err %v), want [%s]", ids, err, active.ID)
	}
}
