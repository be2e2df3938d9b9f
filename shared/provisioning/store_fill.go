package provisioning

import (
	"context"
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Fill is what Store.Fill saw and did: the workflow's status and run, its
// task counts, and the tasks it queued.
type Fill struct {
	Status    string   `json:"status"`
	Run       int      `json:"run"`
	Total     int      `json:"total"`
	Succeeded int      `json:"succeeded"`
	Failed    int      `json:"failed"`
	Busy      int      `json:"busy"`
	Queued    []string `json:"queued"`
}

// Settled reports whether the fill decided everything a step of run
// needs: the workflow is Running at that run, no task failed and some task
// has still to succeed. Otherwise the workflow's status must change (or the
// message is of another run) and the caller decides on the whole workflow.
func (f Fill) Settled(run int) bool {
	return f.Status == StatusRunning && f.Run == run && f.Failed == 0 && f.Succeeded < f.Total
}

// Fill queues the Pending tasks of a Running workflow at run that are ready
// (every dependency succeeded, none failed), in one transaction, without
// writing the workflow record, so that concurrent completions do not
// serialize on it. after is the task whose completion asks: only its ready
// dependents are queued, and any ready task an earlier fill passed over
// ("" queues every ready task, as at the start).
//
// max_parallel holds across concurrent fills without a shared counter: a
// fill that has room for every ready task of its snapshot (in flight +
// ready ≤ max_parallel) queues some of them, and all that fills concurrent
// with it queue are among those ready tasks (readiness only grows and their
// queueing is invisible to it), so the sum stays in bounds; a fill without
// that room queues the first ones by position and writes every other ready
// task (passed += 1), so any concurrent fill that queues one of them
// conflicts with it in the engine and runs again on what it did.
func (s *Store) Fill(ctx context.Context, id string, run int, after string) (Fill, error) {
	res, err := surreal.QueryAll[any](ctx, s.db, surreal.Atomic(`
LET $w = (SELECT status, run, max_parallel FROM ONLY $wf);
IF $w = NONE { THROW "not found" };
LET $ts = (SELECT id, task, state, depends_on, passed, position FROM task WHERE workflow = $id ORDER BY position);
LET $done = $ts[WHERE state = 'Succeeded'].task;
LET $busy = array::len($ts[WHERE state IN ['Queued', 'Running', 'Retrying']]);
LET $failed = array::len($ts[WHERE state = 'Failed']);
LET $room = IF $w.status = 'Running' AND $w.run = $run AND $failed = 0 { $w.max_parallel - $busy } ELSE { 0 };
LET $ready = IF $room > 0 { $ts[WHERE state = 'Pending' AND depends_on ALLINSIDE $done] } ELSE { [] };
LET $take = IF array::len($ready) <= $room {
	$ready[WHERE $after = '' OR $after IN depends_on OR passed > 0]
} ELSE { array::slice($ready, 0, $room) };
LET $queued = IF array::len($take) > 0 { UPDATE $take.id SET state = 'Queued' WHERE state = 'Pending' RETURN VALUE task } ELSE { [] };
IF array::len($ready) > $room { UPDATE array::slice($ready, $room).id SET passed += 1 RETURN NONE };
RETURN { status: $w.status, run: $w.run, total: array::len($ts), succeeded: array::len($done), failed: $failed,
	busy: $busy + array::len($queued), queued: $queued };`), map[string]any{"wf": workflowID(id), "id": id, "run": run, "after": after})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return Fill{}, ErrNotFound
		}
		return Fill{}, fmt.Errorf("fill workflow %s: %w", id, err)
	}
	var f Fill
	if len(res) == 0 {
		return f, fmt.Errorf("fill workflow %s: no result", id)
	}
	raw, err := surreal.MarshalCBOR(res[len(res)-1])
	if err == nil {
		err = surreal.UnmarshalCBOR(raw, &f)
	}
	if err != nil {
		return f, fmt.Errorf("fill workflow %s: decode: %w", id, err)
	}
	return f, nil
}

// GetStep reads what one step of task needs: the workflow without its
// document, and of its tasks only that task and its dependencies (for their
// resources), in one round trip. Tasks is empty if the workflow has no such task.
func (s *Store) GetStep(ctx context.Context, id, task string) (WorkflowState, error) {
	w, err := surreal.Query[*WorkflowState](ctx, s.db, `
LET $t = (SELECT * OMIT id FROM ONLY $tid);
LET $deps = IF $t = NONE { [] } ELSE { SELECT * OMIT id FROM task WHERE workflow = $id AND task IN $t.depends_on };
SELECT `+workflowFields+`, IF $t = NONE { [] } ELSE { array::concat([$t], $deps) } AS tasks OMIT document FROM ONLY $wf;`,
		map[string]any{"wf": workflowID(id), "id": id, "tid": taskID(id, task)})
	if err != nil {
		return WorkflowState{}, fmt.Errorf("get workflow %s for a step of %s: %w", id, task, err)
	}
	if w == nil {
		return WorkflowState{}, ErrNotFound
	}
	return *w, nil
}
