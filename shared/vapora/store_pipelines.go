package vapora

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// ---- pipelines ----------------------------------------------------------------
//
// A pipeline is one record; every change writes it whole, and only if it is
// still at the version it was read at (errStale otherwise: read it again).

func optionalTime(t *time.Time) any {
	if t == nil {
		return models.None
	}
	return *t
}

func pipelineContent(p Pipeline, version int) map[string]any {
	return map[string]any{"project_id": p.ProjectID, "scope": p.Scope, "name": p.Name, "status": p.Status,
		"requester": p.Requester, "stages": p.Stages, "failed_stage": optional(p.FailedStage), "version": version,
		"approval_due": optionalTime(p.nextDue()), "created_at": p.CreatedAt, "updated_at": p.UpdatedAt}
}

// CreatePipeline stores a new pipeline at version 1, with the events it
// announces in the outbox, in one transaction.
func (s *Store) CreatePipeline(ctx context.Context, p Pipeline, outbox []OutboxMsg) (Pipeline, error) {
	rows, err := surreal.Query[[]Pipeline](ctx, s.db, surreal.Atomic(`
LET $rows = (CREATE $id CONTENT $c RETURN `+fields+`);
IF array::len($outbox) > 0 { INSERT IGNORE INTO pipeline_outbox $outbox RETURN NONE };
RETURN $rows;`), map[string]any{"id": rid("pipelines", p.ID), "c": pipelineContent(p, 1), "outbox": outboxRows(outbox, s.now())})
	if err != nil || len(rows) != 1 {
		return Pipeline{}, errors.Join(fmt.Errorf("create pipeline: %w", err), errIfEmpty(len(rows)))
	}
	return rows[0], nil
}

// OutboxMsg is an event a pipeline's transition announces: stored with the
// transition, published after it (see 008_pipeline_outbox.surql).
type OutboxMsg struct {
	ID       string         `json:"id"` // the message id, fixed per event
	Pipeline string         `json:"pipeline_id"`
	Seq      int            `json:"seq"` // order within the pipeline's events
	Subject  string         `json:"subject"`
	Payload  map[string]any `json:"payload"`
}

func outboxRows(msgs []OutboxMsg, now time.Time) []map[string]any {
	rows := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		rows[i] = map[string]any{"id": rid("pipeline_outbox", m.ID), "pipeline_id": m.Pipeline, "seq": m.Seq,
			"subject": m.Subject, "payload": m.Payload, "created_at": now}
	}
	return rows
}

const outboxFields = "record::id(id) AS id, pipeline_id, seq, subject, payload, created_at"

// Outbox lists what is left to publish: one pipeline's (pipeline != ""), or
// every pipeline's written before before, oldest first.
func (s *Store) Outbox(ctx context.Context, pipeline string, before time.Time, limit int) ([]OutboxMsg, error) {
	where := "created_at < $before ORDER BY created_at, pipeline_id, seq"
	if pipeline != "" {
		where = "pipeline_id = $p ORDER BY seq"
	}
	msgs, err := surreal.Query[[]OutboxMsg](ctx, s.db, "SELECT "+outboxFields+" FROM pipeline_outbox WHERE "+where+" LIMIT $n",
		map[string]any{"p": pipeline, "before": before, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("read the pipelines' outbox: %w", err)
	}
	return msgs, nil
}

// Published removes published events from the outbox.
func (s *Store) Published(ctx context.Context, msgs []OutboxMsg) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]models.RecordID, len(msgs))
	for i, m := range msgs {
		ids[i] = rid("pipeline_outbox", m.ID)
	}
	if _, err := surreal.Query[any](ctx, s.db, "DELETE $ids", map[string]any{"ids": ids}); err != nil {
		return fmt.Errorf("clear the pipelines' outbox: %w", err)
	}
	return nil
}

// Pipeline reads one pipeline.
func (s *Store) Pipeline(ctx context.Context, id string) (Pipeline, error) {
	p, err := surreal.Query[*Pipeline](ctx, s.db, "SELECT "+fields+" FROM ONLY $id", map[string]any{"id": rid("pipelines", id)})
	if err != nil {
		return Pipeline{}, fmt.Errorf("read pipeline: %w", err)
	}
	if p == nil {
		return Pipeline{}, ErrNotFound
	}
	return *p, nil
}

// SavePipeline writes p if it is still at the version it was read at, with
// the events the transition announces in the outbox, in one transaction.
func (s *Store) SavePipeline(ctx context.Context, p Pipeline, outbox []OutboxMsg) (Pipeline, error) {
	return s.SaveTransition(ctx, p, Transition{Outbox: outbox})
}

// Transition is what a pipeline's versioned write stores with it.
type Transition struct {
	Outbox []OutboxMsg
	// Release lists finished stage tasks whose agents shed their load.
	Release []Hold
	// Start, if set, is the stage task the transition starts, created
	// already assigned: its agent takes on its load in the same write.
	Start *StageStart
}

// Hold is a task's share of an agent's load (tasks.load_on).
type Hold struct {
	TaskID, Agent string
}

// StageStart is a stage task to create assigned to Agent as TaskType.
type StageStart struct {
	Task     Task
	Agent    string
	TaskType string
}

// errAgentFull means the agent a stage task was for is no longer Ready or
// has no room for it (another instance gave it a task first): nothing was
// written; choose again.
var errAgentFull = errors.New("the agent has no room left")

// shedSQL: the task ($task) gives back its share of the load of the agent
// ($agentID, $agent) holding it, once: only if load_on still names that
// agent. An empty load_on then says the share was given back, so that an
// assignment applied late does not take it on again.
const shedSQL = `LET $held = (UPDATE $task SET load_on = '' WHERE load_on = $agentID RETURN VALUE id);
IF array::len($held) > 0 {
	UPDATE $agent SET ` + lessLoadSQL + ` RETURN NONE;
};`

// lessLoadSQL is an agent's SET for giving back $load: a Busy agent whose
// new load leaves room is Ready again (see reserveSQL on the sums).
const lessLoadSQL = `current_load = math::max([0.0, current_load - $load]),
	status = IF status = 'Busy' AND current_load - $load < 1.0 - 0.000001 THEN 'Ready' ELSE status END`

// reserveSQL: the Ready agent $agent takes on $load if it stays within 1.0,
// else the transaction fails with "agent_full".
//
// The expressions of one SET all read the record as it was before it (a
// status computed from current_load sees the old load), hence the explicit
// sums in these statements.
const reserveSQL = `LET $room = (UPDATE $agent SET current_load = current_load + $load,
	status = IF current_load + $load >= 1.0 - 0.000001 THEN 'Busy' ELSE status END
	WHERE status = 'Ready' AND current_load + $load <= 1.0 + 0.000001 RETURN VALUE id);
IF array::len($room) = 0 { THROW "agent_full" };`

// startSQL creates the stage task $start, assigned and holding its agent's
// load, with its history entry.
const startSQL = reserveSQL + `
CREATE $task CONTENT { project_id: $t.project_id, scope: $t.scope, title: $t.title, description: $t.description,
	status: 'Todo', priority: $t.priority, tags: $t.tags, assigned_agent: $agentID, task_type: $tt, load_on: $agentID,
	rank: time::nano(), created_at: time::now(), updated_at: time::now() } RETURN NONE;
CREATE task_history CONTENT { task_id: record::id($task), project_id: $t.project_id, kind: 'created',
	from_status: NONE, to_status: 'Todo', from_agent: NONE, to_agent: $agentID, from_order: NONE, to_order: NONE,
	by: $by, at: time::now() } RETURN NONE;`

// startVars are startSQL's parameters.
func startVars(ctx context.Context, st StageStart) map[string]any {
	t := st.Task
	return map[string]any{"task": rid("tasks", t.ID), "agentID": st.Agent, "agent": rid("agents", st.Agent), "tt": st.TaskType,
		"load": loadPerTask, "by": actor(ctx), "t": map[string]any{"project_id": t.ProjectID, "scope": t.Scope, "title": t.Title,
			"description": optional(t.Description), "priority": t.Priority, "tags": t.Tags}}
}

// SaveTransition writes p if it is still at the version it was read at
// (errStale if not), with what the transition does beside it, in one
// transaction: the outbox, the finished tasks' loads shed, and the task it
// starts created and assigned (errAgentFull when its agent has no room left,
// isDuplicate when the task exists). Nothing is written on an error.
func (s *Store) SaveTransition(ctx context.Context, p Pipeline, tr Transition) (Pipeline, error) {
	release := make([]map[string]any, len(tr.Release))
	for i, h := range tr.Release {
		release[i] = map[string]any{"task": rid("tasks", h.TaskID), "agentID": h.Agent, "agent": rid("agents", h.Agent)}
	}
	vars := map[string]any{"load": loadPerTask}
	if tr.Start != nil {
		vars = startVars(ctx, *tr.Start)
	}
	vars["id"], vars["c"], vars["v"] = rid("pipelines", p.ID), pipelineContent(p, p.Version+1), p.Version
	vars["outbox"], vars["release"], vars["start"] = outboxRows(tr.Outbox, s.now()), release, tr.Start != nil
	var rows []Pipeline
	err := retryRankClash(ctx, func() (err error) {
		rows, err = surreal.Query[[]Pipeline](ctx, s.db, surreal.Atomic(`
LET $rows = (UPDATE $id CONTENT $c WHERE version = $v RETURN `+fields+`);
IF array::len($rows) = 0 { THROW "stale" };
FOR $r IN $release {
	`+strings.NewReplacer("$task", "$r.task", "$agentID", "$r.agentID", "$agent", "$r.agent").Replace(shedSQL)+`
};
IF $start {
	`+startSQL+`
};
IF array::len($outbox) > 0 { INSERT IGNORE INTO pipeline_outbox $outbox RETURN NONE };
RETURN $rows;`), vars)
		return err
	})
	switch {
	case err != nil && strings.Contains(err.Error(), "stale"):
		return Pipeline{}, errStale
	case err != nil && strings.Contains(err.Error(), "agent_full"):
		return Pipeline{}, errAgentFull
	case isDuplicate(err):
		return Pipeline{}, err
	case err != nil:
		return Pipeline{}, fmt.Errorf("save pipeline: %w", err)
	case len(rows) == 0:
		return Pipeline{}, errStale
	}
	return rows[0], nil
}

// Pipelines lists a project's pipelines, newest first.
func (s *Store) Pipelines(ctx context.Context, project string, limit int) ([]Pipeline, error) {
	list, err := surreal.Query[[]Pipeline](ctx, s.db, "SELECT "+fields+" FROM pipelines WHERE project_id = $p ORDER BY created_at DESC LIMIT $n",
		map[string]any{"p": project, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("list pipelines: %w", err)
	}
	return list, nil
}

// DuePipelines are the Running pipelines with a gate whose time ran out.
func (s *Store) DuePipelines(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := surreal.Query[[]string](ctx, s.db, `SELECT VALUE record::id(id) FROM pipelines
		WHERE status = 'Running' AND approval_due != NONE AND approval_due <= $now LIMIT $n`, map[string]any{"now": now, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("find due approvals: %w", err)
	}
	return ids, nil
}

// ActivePipelines are the pipelines that run a task now (Running or RollingBack).
func (s *Store) ActivePipelines(ctx context.Context, limit int) ([]Pipeline, error) {
	list, err := surreal.Query[[]Pipeline](ctx, s.db, "SELECT "+fields+" FROM pipelines WHERE status IN ['Running', 'RollingBack'] LIMIT $n",
		map[string]any{"n": limit})
	if err != nil {
		return nil, fmt.Errorf("list active pipelines: %w", err)
	}
	return list, nil
}

// StageWait is a stage task waiting for a free agent of its role.
type StageWait struct {
	TaskID   string `json:"task_id"`
	Pipeline string `json:"pipeline_id"`
	Stage    int    `json:"stage"`
	Rollback bool   `json:"rollback"`
	Role     string `json:"role"`
}

// Wait records that a stage task waits for an agent of its role (once per task).
func (s *Store) Wait(ctx context.Context, w StageWait) error {
	_, err := surreal.Query[any](ctx, s.db, `INSERT IGNORE INTO stage_waits { id: $id, pipeline_id: $p, stage: $stage,
		rollback: $rb, role: $role, since: time::now() } RETURN NONE`,
		map[string]any{"id": rid("stage_waits", w.TaskID), "p": w.Pipeline, "stage": w.Stage, "rb": w.Rollback, "role": w.Role})
	if err != nil {
		return fmt.Errorf("record a stage waiting for an agent: %w", err)
	}
	return nil
}

// Waiting lists the oldest stage tasks waiting for an agent of role.
func (s *Store) Waiting(ctx context.Context, role string, limit int) ([]StageWait, error) {
	list, err := surreal.Query[[]StageWait](ctx, s.db, `SELECT record::id(id) AS task_id, pipeline_id, stage, rollback, role, since
		FROM stage_waits WHERE role = $role ORDER BY since LIMIT $n`, map[string]any{"role": role, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("list stages waiting for an agent: %w", err)
	}
	return list, nil
}

// Waited removes a stage task's wait (it got an agent, or no longer needs one).
func (s *Store) Waited(ctx context.Context, taskID string) error {
	if _, err := surreal.Query[any](ctx, s.db, "DELETE $id", map[string]any{"id": rid("stage_waits", taskID)}); err != nil {
		return fmt.Errorf("clear a stage's wait: %w", err)
	}
	return nil
}

// EnsureTask creates t with its own id, or reads it when a previous try did
// (creating first: on a stage's hand-over the task is new, and a read
// before would cost a round trip).
//
// The task comes without its order on the board (Task.Order is 0): the
// engine does not show it, and placing it would catch the instance's board
// index up with the tasks feed on every stage hand-over.
func (s *Store) EnsureTask(ctx context.Context, t Task) (Task, error) {
	row, err := s.createTaskRow(ctx, t, nil, nil)
	if isDuplicate(err) {
		return s.TaskRecord(ctx, t.ID)
	}
	if err != nil {
		return Task{}, err
	}
	return row.task(), nil
}

// CreateAssignedTask creates a stage task already assigned, whose agent
// takes on its load if it is Ready and has room (errAgentFull if not), with
// outbox, in one transaction; a task of that id that exists is left as it
// is (isDuplicate).
func (s *Store) CreateAssignedTask(ctx context.Context, st StageStart, outbox []OutboxMsg) error {
	vars := startVars(ctx, st)
	vars["outbox"] = outboxRows(outbox, s.now())
	err := retryRankClash(ctx, func() error {
		_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(startSQL+`
IF array::len($outbox) > 0 { INSERT IGNORE INTO pipeline_outbox $outbox RETURN NONE };`), vars)
		return err
	})
	switch {
	case err != nil && strings.Contains(err.Error(), "agent_full"):
		return errAgentFull
	case isDuplicate(err):
		return err
	case err != nil:
		return fmt.Errorf("create stage task: %w", err)
	}
	return nil
}

// AssignStageTask gives a Todo stage task nobody holds to agent, if it is
// still so (errStale if not), and the agent takes on its load in the same
// write if it is Ready and has room (errAgentFull if not); like EnsureTask
// it skips the task's order.
func (s *Store) AssignStageTask(ctx context.Context, t Task, agent, taskType string) (Task, error) {
	rows, err := surreal.Query[[]taskRow](ctx, s.db, withHistory("$task", `UPDATE $task SET assigned_agent = $agentID, task_type = $tt,
		load_on = $agentID, updated_at = time::now() WHERE status = 'Todo' AND assigned_agent = NONE RETURN `+fields, reserveSQL),
		map[string]any{"task": rid("tasks", t.ID), "agentID": agent, "agent": rid("agents", agent), "tt": taskType,
			"load": loadPerTask, "h": mark(ctx, "assigned")})
	switch {
	case err != nil && strings.Contains(err.Error(), "agent_full"):
		return Task{}, errAgentFull
	case err != nil:
		return Task{}, fmt.Errorf("assign stage task: %w", err)
	case len(rows) == 0:
		return Task{}, errStale
	}
	return rows[0].task(), nil
}

// ReleaseTask takes a cancelled stage's task off its agent: back to Todo,
// unassigned, and the agent sheds its load, in one transaction, only if the
// task is still in the column and with the agent it was read with.
func (s *Store) ReleaseTask(ctx context.Context, t Task) (bool, error) {
	if t.AssignedAgent == nil {
		return false, nil
	}
	var res []any
	err := retryRankClash(ctx, func() (err error) {
		res, err = surreal.QueryAll[any](ctx, s.db, withHistory("$task",
			`UPDATE $task SET status = 'Todo', assigned_agent = NONE, rank = time::nano(), updated_at = time::now()
	WHERE status = $from AND assigned_agent = $agentID RETURN VALUE id`, shedSQL),
			map[string]any{"task": rid("tasks", t.ID), "from": t.Status, "agentID": *t.AssignedAgent,
				"agent": rid("agents", *t.AssignedAgent), "load": loadPerTask, "h": mark(ctx, "status")})
		return err
	})
	if errors.Is(err, errStale) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("release task: %w", err)
	}
	moved, _ := res[len(res)-1].([]any)
	return len(moved) > 0, nil
}
