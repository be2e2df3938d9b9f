package provisioning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// Dependents is how many tasks depend on the task the fill came after.
	Dependents int `json:"dependents"`
	// Claimed, after a Succeed that claimed one of the tasks it made ready
	// (Claim), is that task (at its new attempt) followed by its
	// dependencies; empty otherwise. Queued does not name it.
	Claimed []TaskState `json:"claimed"`
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
// ("" queues every ready task, as at the start). It writes every Pending
// dependent of after (touched += 1): two completions whose transactions
// overlap, each making one of a task's last dependencies succeed, would
// otherwise each miss the other's and neither queue the task; writing it
// makes them conflict, and the one run again sees both.
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
	res, err := surreal.QueryAll[any](ctx, s.db, surreal.Atomic(fillReadSQL+fillPlanSQL+fillEndSQL),
		map[string]any{"wf": workflowID(id), "id": id, "run": run, "after": after, "succ": "", "via": "", "within": -1})
	return decodeFill(res, err, id)
}

// Claim asks Succeed to start, in its transaction, the next attempt of one
// of the tasks it would queue, for the caller to run at once instead of
// publishing it. The zero Claim claims nothing.
type Claim struct {
	// Via is the task whose ready message the caller is handling; it is
	// written on the claimed task (see schemas/surreal/provisioning/005).
	Via string
	// Within bounds the claimed task's timeout (the time the caller has
	// left); 0 or less: no bound.
	Within time.Duration
}

// Succeed records that attempt n of task succeeded with res and fills
// after it (Fill with after = task), in one transaction: the completion
// and the queueing of what it made ready commit together, so no message
// passes between them. With c.Via set it first claims the first dependent
// of task that became ready and whose timeout fits c.Within, as ClaimStep
// would (Running at its next attempt, the step's checkpoint written), and
// returns it in Fill.Claimed, not in Fill.Queued. ErrStale if the task is
// not Running attempt n.
//
// Two completions in overlapping transactions do not see each other. For
// a dependent of both, the fill's write of it makes them conflict (see
// Fill). For the workflow's end, the caller of a task without dependents
// must still fill again after this commits (a done message), as the last
// tasks to succeed are such tasks and may each see the others Running.
func (s *Store) Succeed(ctx context.Context, wf, task string, n, run int, res *Resource, c Claim) (Fill, error) {
	vars := endAttemptVars(wf, task, n, run, TaskSucceeded, res, "", time.Time{})
	vars["wf"], vars["id"], vars["run"], vars["after"], vars["succ"] = workflowID(wf), wf, run, task, task
	vars["via"], vars["within"] = c.Via, c.Within.Milliseconds()
	if c.Within <= 0 {
		vars["within"] = -1
	}
	// The workflow's tasks are read before the attempt ends ($succ counts
	// it Succeeded), so that between its end and the claim only decisions
	// on what was read run: the claimed task starts right after.
	out, err := surreal.QueryAll[any](ctx, s.db, surreal.Atomic(fillReadSQL+endTaskSQL+fillPlanSQL+endStepSQL+fillEndSQL), vars)
	if err := staleOr(err, "end attempt of "+wf+"/"+task); errors.Is(err, ErrStale) {
		return Fill{}, err
	}
	return decodeFill(out, err, wf)
}

// fillReadSQL, fillPlanSQL and fillEndSQL are Fill's transaction, and
// Succeed's around the end of the attempt ($wf, $id, $run, $after; $succ,
// the task whose end this transaction writes after reading, is counted
// Succeeded; $via and $within for a claim). The claim comes first, as soon
// as the plan starts, and only when there is room for every ready task: it
// takes one of the tasks the fill would queue (a ready dependent of
// $after) and starts it instead, so the bounds and the conflicts of the
// fill are those of a fill without a claim. The claimed task and its
// dependencies are read last, into $claimed.
const fillReadSQL = `
LET $w = (SELECT status, run, max_parallel FROM ONLY $wf);
IF $w = NONE { THROW "not found" };
LET $ts = (SELECT id, task, state, depends_on, passed, position, timeout_ms FROM task WHERE workflow = $id ORDER BY position);`

const fillPlanSQL = `
LET $done = $ts[WHERE state = 'Succeeded' OR task = $succ].task;
LET $busy = array::len($ts[WHERE state IN ['Queued', 'Running', 'Retrying'] AND task != $succ]);
LET $failed = array::len($ts[WHERE state = 'Failed']);
LET $room = IF $w.status = 'Running' AND $w.run = $run AND $failed = 0 { $w.max_parallel - $busy } ELSE { 0 };
LET $all = IF $room > 0 { $ts[WHERE state = 'Pending' AND depends_on ALLINSIDE $done] } ELSE { [] };
LET $c = IF $via != '' AND array::len($all) <= $room {
	$all[WHERE $after IN depends_on AND ($within < 0 OR timeout_ms <= $within)][0] } ELSE { NONE };
LET $cl = IF $c != NONE { UPDATE $c.id SET state = 'Running', attempt += 1, started_at = time::now(), next_attempt_at = NONE,
	via = $via WHERE state = 'Pending' RETURN AFTER } ELSE { [] };
LET $ctask = IF array::len($cl) > 0 { $cl[0].task } ELSE { '' };
LET $left = $room - array::len($cl);
LET $ready = $all[WHERE task != $ctask];
LET $take = IF array::len($ready) <= $left {
	$ready[WHERE $after = '' OR $after IN depends_on OR passed > 0]
} ELSE { array::slice($ready, 0, $left) };
LET $queued = IF array::len($take) > 0 { UPDATE $take.id SET state = 'Queued' WHERE state = 'Pending' RETURN VALUE task } ELSE { [] };
IF array::len($ready) > $left { UPDATE array::slice($ready, $left).id SET passed += 1 RETURN NONE };
IF $after != '' { UPDATE $ts[WHERE state = 'Pending' AND $after IN depends_on AND task != $ctask].id SET touched += 1 RETURN NONE };`

const fillEndSQL = `
IF $ctask != '' { INSERT IGNORE INTO step { workflow: $id, task: $ctask, action: 'create',
	id: type::record('step', string::concat($id, '/', $ctask, '/create/', <string> $run, '/', <string> $cl[0].attempt)),
	attempt: $cl[0].attempt, run: $run, state: 'started', started_at: $cl[0].started_at } RETURN NONE };
LET $claimed = IF $ctask = '' { [] } ELSE IF array::len($cl[0].depends_on) = 0 { (SELECT * OMIT id FROM $cl[0].id) } ELSE {
	array::concat((SELECT * OMIT id FROM $cl[0].id), (SELECT * OMIT id FROM $cl[0].depends_on.map(|$d| type::record('task', string::concat($id, '/', $d))))) };
RETURN { status: $w.status, run: $w.run, total: array::len($ts), succeeded: array::len($done), failed: $failed,
	busy: $busy + array::len($queued) + array::len($cl), queued: $queued, dependents: array::len($ts[WHERE $after IN depends_on]),
	claimed: $claimed };`

func decodeFill(res []any, err error, id string) (Fill, error) {
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

// ClaimStep reads what one step of task needs and starts its next attempt
// when it is due, in one transaction: the workflow without its document,
// and of its tasks only that task and its dependencies (for their
// resources). An attempt is due when the workflow is Running at run and the
// task Queued, or Retrying with its next attempt's time passed; claiming it
// moves the task to Running at attempt+1 (checked in the statement against
// the state and attempt it read) and writes the attempt's checkpoint.
// claimed is false when nothing was due or another delivery claimed first:
// the caller decides on the returned state. Tasks is empty if the
// workflow has no such task.
func (s *Store) ClaimStep(ctx context.Context, id, task string, run int) (w WorkflowState, claimed bool, err error) {
	out, err := surreal.Query[*struct {
		Workflow *WorkflowState `json:"workflow"`
		Tasks    []TaskState    `json:"tasks"`
		Claimed  bool           `json:"claimed"`
	}](ctx, s.db, surreal.Atomic(`
LET $w = (SELECT `+workflowFields+` OMIT document FROM ONLY $wf);
IF $w = NONE { THROW "not found" };
LET $t = (SELECT * FROM ONLY $tid);
LET $due = $t != NONE AND $w.status = 'Running' AND $w.run = $run AND ($t.state = 'Queued'
	OR ($t.state = 'Retrying' AND ($t.next_attempt_at = NONE OR $t.next_attempt_at <= time::now())));
LET $claimed = IF $due { UPDATE $tid SET state = 'Running', attempt = $t.attempt + 1, started_at = time::now(),
	next_attempt_at = NONE, via = NONE WHERE state = $t.state AND attempt = $t.attempt RETURN VALUE id } ELSE { [] };
LET $step = IF array::len($claimed) > 0 { INSERT IGNORE INTO step { workflow: $id, task: $name, action: 'create',
	id: type::record('step', string::concat($id, '/', $name, '/create/', <string> $run, '/', <string> ($t.attempt + 1))),
	attempt: $t.attempt + 1, run: $run, state: 'started', started_at: time::now() } RETURN NONE };
LET $now = (SELECT * OMIT id FROM ONLY $tid);
LET $deps = IF $now = NONE OR array::len($now.depends_on) = 0 { [] } ELSE {
	(SELECT * OMIT id FROM $now.depends_on.map(|$d| type::record('task', string::concat($id, '/', $d)))) };
RETURN { workflow: $w, tasks: IF $now = NONE { [] } ELSE { array::concat([$now], $deps) }, claimed: array::len($claimed) > 0 };`),
		map[string]any{"wf": workflowID(id), "id": id, "tid": taskID(id, task), "name": task, "run": run})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return WorkflowState{}, false, ErrNotFound
		}
		return WorkflowState{}, false, fmt.Errorf("claim a step of %s/%s: %w", id, task, err)
	}
	if out == nil || out.Workflow == nil {
		return WorkflowState{}, false, fmt.Errorf("claim a step of %s/%s: no result", id, task)
	}
	w = *out.Workflow
	w.Tasks = out.Tasks
	return w, out.Claimed, nil
}

// Carried lists the tasks of workflow wf that are Running or Retrying an
// attempt claimed by Succeed for the delivery of via's ready message
// (Claim.Via), which has no message of its own.
func (s *Store) Carried(ctx context.Context, wf, via string) ([]string, error) {
	tasks, err := surreal.Query[[]string](ctx, s.db, `SELECT VALUE task FROM task WHERE workflow = $wf AND via = $via
	AND state IN ['Running', 'Retrying']`, map[string]any{"wf": wf, "via": via})
	if err != nil {
		return nil, fmt.Errorf("tasks carried by %s/%s: %w", wf, via, err)
	}
	return tasks, nil
}
