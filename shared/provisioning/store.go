package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Store errors.
var (
	ErrNotFound = errors.New("workflow not found")
	// ErrStale means the workflow changed since it was read: read it again.
	ErrStale = errors.New("workflow changed meanwhile")
)

// Store keeps workflows, tasks and step checkpoints in SurrealDB (database
// "provisioning"). Every conditional write checks its condition in the
// statement (or in one transaction that throws), so it holds across instances.
type Store struct{ db *surreal.Client }

// NewStore is a store over db.
func NewStore(db *surreal.Client) *Store { return &Store{db: db} }

func workflowID(id string) models.RecordID { return models.NewRecordID("workflow", id) }
func taskID(wf, task string) models.RecordID {
	return models.NewRecordID("task", wf+"/"+task)
}
func stepID(wf, task, action string, attempt, run int) models.RecordID {
	return models.NewRecordID("step", fmt.Sprintf("%s/%s/%s/%d/%d", wf, task, action, run, attempt))
}

const workflowFields = "*, record::id(id) AS id"

func toMap(raw json.RawMessage) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(raw, &m)
	return m
}

// Create stores a prepared workflow and its tasks in one transaction. A
// workflow id that exists already returns the stored workflow and false.
func (s *Store) Create(ctx context.Context, p *Prepared) (WorkflowState, bool, error) {
	if w, err := s.Get(ctx, p.ID); err == nil {
		return w, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return WorkflowState{}, false, err
	}
	doc, _ := json.Marshal(p.Workflow)
	now := models.CustomDateTime{Time: time.Now().UTC()}
	wf := map[string]any{"created_at": now, "updated_at": now, "name": p.Name, "environment": p.Environment, "scope": p.Scope, "status": StatusPending,
		"max_parallel": p.MaxParallel, "document": toMap(doc), "order": p.Order, "waves": p.Waves, "version": 0, "run": 1}
	var tasks []map[string]any
	for _, id := range p.Order {
		t, _ := p.Task(id)
		deps := t.DependsOn
		if deps == nil {
			deps = []string{}
		}
		tasks = append(tasks, map[string]any{"id": taskID(p.ID, id), "workflow": p.ID, "task": id, "position": len(tasks),
			"kind": t.Kind, "provider": t.Provider, "spec": toMap(t.Spec), "depends_on": deps, "state": TaskPending,
			"attempt": 0, "max_attempts": t.Retry.MaxAttempts, "base_delay_ms": t.Retry.BaseDelay.Milliseconds(),
			"max_delay_ms": t.Retry.MaxDelay.Milliseconds(), "timeout_ms": t.Timeout.Milliseconds()})
	}
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`
CREATE ONLY $id CONTENT $wf;
INSERT INTO task $tasks;`), map[string]any{"id": workflowID(p.ID), "wf": wf, "tasks": tasks})
	if err != nil {
		if strings.Contains(err.Error(), "already exists") {
			w, gerr := s.Get(ctx, p.ID)
			return w, false, gerr
		}
		return WorkflowState{}, false, fmt.Errorf("create workflow %s: %w", p.ID, err)
	}
	w, err := s.Get(ctx, p.ID)
	return w, err == nil, err
}

// Get reads a workflow and its tasks in topological order.
func (s *Store) Get(ctx context.Context, id string) (WorkflowState, error) {
	w, err := surreal.Query[*WorkflowState](ctx, s.db, "SELECT "+workflowFields+" OMIT document FROM ONLY $wf",
		map[string]any{"wf": workflowID(id)})
	if err != nil {
		return WorkflowState{}, fmt.Errorf("get workflow %s: %w", id, err)
	}
	if w == nil {
		return WorkflowState{}, ErrNotFound
	}
	w.Tasks, err = surreal.Query[[]TaskState](ctx, s.db, "SELECT * OMIT id FROM task WHERE workflow = $id ORDER BY position",
		map[string]any{"id": id})
	if err != nil {
		return WorkflowState{}, fmt.Errorf("tasks of workflow %s: %w", id, err)
	}
	return *w, nil
}

// Summary is a workflow in a list.
type Summary struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Environment string    `json:"environment"`
	Scope       string    `json:"scope"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// List returns up to limit workflows of the given scopes, newest first, of
// one status if given.
func (s *Store) List(ctx context.Context, scopes []string, status string, limit int) ([]Summary, error) {
	sql := "SELECT record::id(id) AS id, name, environment, scope, status, created_at, updated_at FROM workflow WHERE scope IN $scopes"
	if status != "" {
		sql += " AND status = $status"
	}
	if scopes == nil {
		scopes = []string{}
	}
	rows, err := surreal.Query[[]Summary](ctx, s.db, sql+" ORDER BY created_at DESC LIMIT $limit",
		map[string]any{"scopes": scopes, "status": status, "limit": limit})
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	if rows == nil {
		rows = []Summary{}
	}
	return rows, nil
}

// Advance moves a workflow read at version seen to status (unchanged if
// "") and queues the given Pending tasks, in one transaction; ErrStale if
// another step changed the workflow since.
func (s *Store) Advance(ctx context.Context, id string, seen int, status, errMsg string, queue []string) error {
	var tids []models.RecordID
	for _, t := range queue {
		tids = append(tids, taskID(id, t))
	}
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`
IF array::len(UPDATE $wf SET version += 1, updated_at = time::now(),
		status = IF $status = '' { status } ELSE { $status },
		error = IF $err = '' { error } ELSE { $err },
		finished_at = IF $status IN ['Succeeded', 'RolledBack', 'RollbackFailed'] { time::now() } ELSE { finished_at }
	WHERE version = $seen RETURN VALUE id) = 0 { THROW "stale" };
FOR $t IN $tasks {
	UPDATE $t SET state = 'Queued' WHERE state = 'Pending';
};
IF $status IN ['RollingBack', 'Cancelling'] { `+touchWaiting+` };`), map[string]any{"wf": workflowID(id), "id": id, "seen": seen,
		"status": status, "err": errMsg, "tasks": tidsOrEmpty(tids)})
	return staleOr(err, "advance workflow "+id)
}

func tidsOrEmpty(ids []models.RecordID) []models.RecordID {
	if ids == nil {
		return []models.RecordID{}
	}
	return ids
}

func staleOr(err error, what string) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "stale") {
		return ErrStale
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ClaimAttempt starts attempt n of a task that is in state from with
// attempt n-1 (Queued or Retrying), writing the step's checkpoint in the same
// transaction. False means another delivery moved it first.
func (s *Store) ClaimAttempt(ctx context.Context, wf, task, from string, n, run int) (bool, error) {
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`
IF array::len(UPDATE $task SET state = 'Running', attempt = $n, started_at = time::now(), next_attempt_at = NONE
	WHERE state = $from AND attempt = $n - 1 RETURN VALUE id) = 0 { THROW "stale" };
INSERT IGNORE INTO step { id: $step, workflow: $wf, task: $name, action: 'create', attempt: $n, run: $run,
	state: 'started', started_at: time::now() };`),
		map[string]any{"task": taskID(wf, task), "from": from, "n": n, "run": run, "wf": wf, "name": task,
			"step": stepID(wf, task, "create", n, run)})
	if err := staleOr(err, "claim "+wf+"/"+task); err != nil {
		if errors.Is(err, ErrStale) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// EndAttempt records the outcome of attempt n (the task is Running it): the
// step and the task together. state is Succeeded, Retrying or Failed.
func (s *Store) EndAttempt(ctx context.Context, wf, task string, n, run int, state string, res *Resource, cause string, next time.Time) error {
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(endAttemptSQL), endAttemptVars(wf, task, n, run, state, res, cause, next))
	return staleOr(err, "end attempt of "+wf+"/"+task)
}

// endAttemptSQL ends attempt $n of $task (which must be Running it) and its step.
const endAttemptSQL = endTaskSQL + endStepSQL

const endTaskSQL = `
IF array::len(UPDATE $task SET state = $state, resource = $res, next_attempt_at = $next,
		error = IF $err = '' { NONE } ELSE { $err },
		finished_at = IF $state = 'Retrying' { NONE } ELSE { time::now() }
	WHERE state = 'Running' AND attempt = $n RETURN VALUE id) = 0 { THROW "stale" };`

const endStepSQL = `
UPDATE $step SET state = $stepstate, resource = $res, error = IF $err = '' { NONE } ELSE { $err }, finished_at = time::now() RETURN NONE;`

func endAttemptVars(wf, task string, n, run int, state string, res *Resource, cause string, next time.Time) map[string]any {
	vars := map[string]any{"task": taskID(wf, task), "n": n, "state": state, "err": cause, "res": resourceValue(res),
		"step": stepID(wf, task, "create", n, run), "stepstate": map[bool]string{true: "succeeded", false: "failed"}[state == TaskSucceeded],
		"next": models.None}
	if !next.IsZero() {
		vars["next"] = models.CustomDateTime{Time: next.UTC()}
	}
	return vars
}

func resourceValue(r *Resource) any {
	if r == nil {
		return models.None
	}
	b, _ := json.Marshal(r)
	return toMap(b)
}

// SetTaskState moves a task from one of from to state (Skipped, RolledBack,
// RollbackFailed), keeping or clearing its resource. False if it was in none of from.
func (s *Store) SetTaskState(ctx context.Context, wf, task string, from []string, state string, res *Resource, cause string) (bool, error) {
	ids, err := surreal.Query[[]models.RecordID](ctx, s.db, `UPDATE $task SET state = $state, resource = $res,
	error = IF $err = '' { error } ELSE { $err }, finished_at = time::now() WHERE state IN $from RETURN VALUE id`,
		map[string]any{"task": taskID(wf, task), "state": state, "res": resourceValue(res), "err": cause, "from": from})
	if err != nil {
		return false, fmt.Errorf("task %s/%s to %s: %w", wf, task, state, err)
	}
	return len(ids) == 1, nil
}

// Checkpoint records a rollback step (a delete) before the provider call.
func (s *Store) Checkpoint(ctx context.Context, wf, task string, run int, res *Resource) error {
	_, err := surreal.Query[any](ctx, s.db, `INSERT IGNORE INTO step { id: $step, workflow: $wf, task: $name,
	action: 'delete', attempt: 1, run: $run, state: 'started', resource: $res, started_at: time::now() }`,
		map[string]any{"step": stepID(wf, task, "delete", 1, run), "wf": wf, "name": task, "run": run, "res": resourceValue(res)})
	if err != nil {
		return fmt.Errorf("checkpoint delete %s/%s: %w", wf, task, err)
	}
	return nil
}

// Steps lists a workflow's checkpoints, oldest first.
func (s *Store) Steps(ctx context.Context, wf string) ([]Step, error) {
	rows, err := surreal.Query[[]Step](ctx, s.db, "SELECT * OMIT id FROM step WHERE workflow = $wf ORDER BY started_at",
		map[string]any{"wf": wf})
	if err != nil {
		return nil, fmt.Errorf("steps of %s: %w", wf, err)
	}
	return rows, nil
}

// Finish ends a rollback: status RolledBack or RollbackFailed with what is left.
func (s *Store) Finish(ctx context.Context, wf, status string, left []string) error {
	if left == nil {
		left = []string{}
	}
	_, err := surreal.Query[any](ctx, s.db, `UPDATE $wf SET status = $status, left = $left, version += 1,
	updated_at = time::now(), finished_at = time::now() WHERE status IN ['RollingBack', 'Cancelling']`,
		map[string]any{"wf": workflowID(wf), "status": status, "left": left})
	if err != nil {
		return fmt.Errorf("finish workflow %s: %w", wf, err)
	}
	return nil
}

// touchWaiting writes the tasks of workflow $id that a completion could
// still claim (Pending, Queued) in the transaction that stops the workflow:
// a completion's claim reads the workflow's status without writing it, so
// without this write the two would not conflict and a task could start
// after the workflow was told to stop.
const touchWaiting = `UPDATE task SET touched += 1 WHERE workflow = $id AND state IN ['Pending', 'Queued'] RETURN NONE;`

// Cancel asks a Pending or Running workflow to stop; false if it was not.
func (s *Store) Cancel(ctx context.Context, wf string) (bool, error) {
	ids, err := surreal.Query[[]models.RecordID](ctx, s.db, surreal.Atomic(`
LET $ids = UPDATE $wf SET status = 'Cancelling', error = 'cancelled',
	version += 1, updated_at = time::now() WHERE status IN ['Pending', 'Running'] RETURN VALUE id;
IF array::len($ids) > 0 { `+touchWaiting+` };
RETURN $ids;`), map[string]any{"wf": workflowID(wf), "id": wf})
	if err != nil {
		return false, fmt.Errorf("cancel workflow %s: %w", wf, err)
	}
	return len(ids) == 1, nil
}

// Resume starts a new run of a workflow that ended rolled back (or failed
// to): its tasks that did not succeed go back to Pending with their attempts
// reset. It returns the new run, or false if the workflow was not resumable.
func (s *Store) Resume(ctx context.Context, wf string) (int, bool, error) {
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`
LET $w = UPDATE $wf SET status = 'Running', run += 1, version += 1, error = NONE, left = [], finished_at = NONE,
	updated_at = time::now() WHERE status IN ['RolledBack', 'RollbackFailed'] RETURN VALUE run;
IF array::len($w) = 0 { THROW "stale" };
UPDATE task SET state = 'Pending', attempt = 0, error = NONE, next_attempt_at = NONE, started_at = NONE, finished_at = NONE,
	via = NONE WHERE workflow = $id AND state != 'Succeeded';`), map[string]any{"wf": workflowID(wf), "id": wf})
	if err := staleOr(err, "resume workflow "+wf); err != nil {
		if errors.Is(err, ErrStale) {
			return 0, false, nil
		}
		return 0, false, err
	}
	w, err := s.Get(ctx, wf)
	if err != nil {
		return 0, false, err
	}
	return w.Run, true, nil
}
