package vapora

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// A page read by one instance, in the round trip that also catches its
// board up, shows every write another instance made before it: each
// reorder, move and new task at once, with dense orders and right totals.
func TestPageFollowsOtherInstancesWrites(t *testing.T) {
	ctx := context.Background()
	stores := testStores(t, "t_board_trip_page", 2)
	writer, reader := stores[0], stores[1]
	project, cards := newBoard(t, writer, 12)
	if _, err := reader.Tasks(ctx, project, "", 0, maxTestPage); err != nil { // the reader holds the board
		t.Fatal(err)
	}
	todo, doing := slices.Clone(cards), []string{}
	rng := rand.New(rand.NewPCG(3, 9))
	for i := range 30 {
		switch i % 3 {
		case 0: // reorder within Todo
			id := todo[rng.IntN(len(todo))]
			to := rng.IntN(len(todo))
			if _, err := writer.Reorder(ctx, Task{ID: id, ProjectID: project}, to); err != nil {
				t.Fatal(err)
			}
			todo = slices.Insert(slices.DeleteFunc(todo, func(s string) bool { return s == id }), to, id)
		case 1: // the first card of Todo moves to Doing
			moved, err := writer.SetStatus(ctx, todo[0], "Doing")
			if err != nil || moved.Order != len(doing) {
				t.Fatalf("move %d: order %d, %v; want %d", i, moved.Order, err, len(doing))
			}
			doing, todo = append(doing, todo[0]), todo[1:]
		case 2: // a new card enters Todo
			task, err := writer.CreateTask(ctx, Task{ProjectID: project, Scope: "demo", Title: "new", Status: "Todo", Priority: "Low", Tags: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			todo = append(todo, task.ID)
		}
		for st, want := range map[string][]string{"Todo": todo, "Doing": doing} {
			page, err := reader.Tasks(ctx, project, st, 1, 5)
			if err != nil {
				t.Fatal(err)
			}
			if page.Totals[st] != len(want) {
				t.Fatalf("step %d: %s total %d, want %d", i, st, page.Totals[st], len(want))
			}
			for j, task := range page.Tasks {
				if task.ID != want[1+j] || task.Order != 1+j || task.Status != st {
					t.Fatalf("step %d: %s position %d holds %s (%s, order %d), want %s", i, st, 1+j, task.ID, task.Status, task.Order, want[1+j])
				}
			}
			if wantLen := min(5, max(0, len(want)-1)); len(page.Tasks) != wantLen {
				t.Fatalf("step %d: %s page of %d, want %d", i, st, len(page.Tasks), wantLen)
			}
		}
		newest := todo[len(todo)-1] // the reader learnt the new cards from the feed, with their scope
		if p, scope, ok := reader.board.ref(newest); !ok || p != project || scope != "demo" {
			t.Fatalf("step %d: the reader's index holds %s as %q %q %v", i, newest, p, scope, ok)
		}
	}
}

// The board index answers who may act on a task it holds (its project and
// scope) without a read; a task it does not hold is read.
func TestTaskRefFromTheBoard(t *testing.T) {
	ctx := context.Background()
	stores := testStores(t, "t_board_trip_ref", 2)
	project, cards := newBoard(t, stores[0], 3)
	for _, s := range stores { // one holds the board, one does not
		if s == stores[0] {
			if _, err := s.Tasks(ctx, project, "", 0, maxTestPage); err != nil {
				t.Fatal(err)
			}
		}
		p, scope, err := s.TaskRef(ctx, cards[1])
		if err != nil || p != project || scope != "demo" {
			t.Fatalf("ref: %s %s %v", p, scope, err)
		}
	}
	if p, sc, ok := stores[0].board.ref(cards[2]); !ok || p != project || sc != "demo" {
		t.Fatalf("the index holds %s as %q %q %v", cards[2], p, sc, ok)
	}
	if _, _, ok := stores[1].board.ref(cards[2]); ok {
		t.Fatal("an instance that never read the board holds its tasks")
	}
	if _, _, err := stores[1].TaskRef(ctx, "task_missing"); err != ErrNotFound {
		t.Fatalf("missing task: %v", err)
	}
}

// A reorder's check that its gap is still empty reads one entry of the rank
// index, whatever the size of the column; the board's other statements read
// records by id, not by scanning the table.
func TestGapCheckReadsOneIndexEntry(t *testing.T) {
	ctx := context.Background()
	s := testStores(t, "t_board_trip_plan", 1)[0]
	project := newID("prj") // the test may run again on the same database
	if _, err := surreal.Query[any](ctx, s.db, `FOR $i IN 0..3000 { CREATE type::record('tasks', $p + '_' + <string>$i) CONTENT { project_id: $p,
		scope: 'demo', title: 'card', status: 'Todo', priority: 'Low', tags: [], rank: $i * 10, created_at: time::now(), updated_at: time::now() } RETURN NONE }`,
		map[string]any{"p": project}); err != nil {
		t.Fatal(err)
	}
	scans := func(sql string, vars map[string]any) (rows int, ops []string) {
		plan, err := surreal.Query[map[string]any](ctx, s.db, sql+" EXPLAIN FULL", vars)
		if err != nil || plan == nil {
			t.Fatalf("explain %s: %v", sql, err)
		}
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			op, _ := n["operator"].(string)
			ops = append(ops, op)
			if strings.HasSuffix(op, "Scan") {
				if m, ok := n["metrics"].(map[string]any); ok {
					rows += int(toFloat(m["output_rows"]))
				}
			}
			kids, _ := n["children"].([]any)
			for _, k := range kids {
				if km, ok := k.(map[string]any); ok {
					walk(km)
				}
			}
		}
		walk(plan)
		return rows, ops
	}
	for _, gap := range [][2]int{{10, 20}, {10, 15}, {15000, 15010}} { // empty gaps, early and midway
		rows, ops := scans(gapSQL, map[string]any{"p": project, "status": "Todo", "lo": gap[0], "hi": gap[1], "id": rid("tasks", project+"_1")})
		if rows > 1 || !slices.Contains(ops, "IndexScan") {
			t.Fatalf("the gap check (%d, %d) read %d index entries (%v), want at most 1", gap[0], gap[1], rows, ops)
		}
	}
	ids := []models.RecordID{rid("tasks", project+"_5"), rid("tasks", project+"_2500")}
	if rows, ops := scans(strings.TrimSpace(pageSQL), map[string]any{"ids": ids}); rows > 2 || slices.Contains(ops, "TableScan") {
		t.Fatalf("a page of 2 scanned %d rows (%v)", rows, ops)
	}
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case uint64:
		return float64(n)
	case int:
		return float64(n)
	}
	return 0
}
