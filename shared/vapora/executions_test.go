package vapora

import (
	"context"
	"fmt"
	"testing"

	"github.com/stratumiops/stratumiops/events"
)

// A card's executions are its own, newest first, with tokens and cost; the
// total counts and sums all of them while the list is limited.
func TestTaskExecutionsListATasksRunsWithCost(t *testing.T) {
	s := testStores(t, "executions", 1)[0]
	ctx := context.Background()
	_, ids := newBoard(t, s, 2)
	id := func(n string) string { return fmt.Sprintf("%s-%s", n, ids[0]) } // results are applied once by id
	for i, r := range []events.TaskResult{
		{ID: id("r1"), TaskID: ids[0], AgentID: "dev-1", DurationMs: 1200, InputTokens: 100, OutputTokens: 50, CostCents: 1.5},
		{ID: id("r2"), TaskID: ids[0], AgentID: "dev-2", DurationMs: 800, InputTokens: 10, OutputTokens: 5, CostCents: 0.25},
		{ID: id("r3"), TaskID: ids[1], AgentID: "dev-1", DurationMs: 50, CostCents: 9},
	} {
		if err := s.applyResult(ctx, r, "demo", "build", i != 1, true, 0); err != nil {
			t.Fatal(err)
		}
	}
	ex, err := s.TaskExecutions(ctx, ids[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	if ex.TaskID != ids[0] || ex.Total != 2 || ex.TotalCostCents != 1.75 || len(ex.Executions) != 1 {
		t.Fatalf("executions: %+v", ex)
	}
	if e := ex.Executions[0]; e.ID != id("r2") || e.AgentID != "dev-2" || e.Success || e.InputTokens != 10 || e.CostCents != 0.25 || e.At.IsZero() {
		t.Fatalf("newest execution: %+v", e)
	}
	none, err := s.TaskExecutions(ctx, "no-such-task", 20)
	if err != nil || none.Total != 0 || none.Executions == nil || len(none.Executions) != 0 {
		t.Fatalf("a task without executions: %+v %v", none, err)
	}
}
