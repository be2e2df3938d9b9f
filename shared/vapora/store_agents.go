package vapora

import (
	"context"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The agent consumers' writes (agents.go holds their logic). Each apply
// claims its message in applied_messages inside its transaction: a second
// application fails on the existing record and returns errDuplicate.

// applyAssignment: the agent takes on load (Busy when full) unless the task
// holds its share already (every assignment write takes it: SetAssignment,
// the stage tasks' writes) or gave it back (its result came first), an
// agent the task was taken from sheds it, and the task gets its agent and
// type. Only a task assigned before load_on existed still takes it here. A
// task whose share was given back keeps an empty load_on (it holds none).
func (s *Store) applyAssignment(ctx context.Context, msgID string, e events.TaskAssignment, load float64) error {
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`CREATE $applied;
LET $prev = (SELECT VALUE load_on FROM ONLY $task);
IF $prev != $agentID AND $prev != '' {
	IF $prev != NONE {
		UPDATE type::record('agents', $prev) SET `+lessLoadSQL+` RETURN NONE;
	};
	UPDATE $agent SET current_load = math::min([1.0, current_load + $load]),
		status = IF status = 'Ready' AND current_load + $load >= 1.0 - 0.000001 THEN 'Busy' ELSE status END RETURN NONE;
};
`+recordHistory("$task", "UPDATE $task SET assigned_agent = $agentID, task_type = $type, load_on = IF $prev = '' THEN '' ELSE $agentID END, updated_at = time::now() RETURN VALUE id", "")),
		map[string]any{"applied": appliedID("assign", msgID), "agent": rid("agents", e.AgentID),
			"load": load, "task": rid("tasks", e.TaskID), "agentID": e.AgentID, "type": e.TaskType, "h": mark(ctx, "assigned")})
	if isDuplicate(err) {
		return errDuplicate
	}
	if err != nil {
		return fmt.Errorf("apply assignment: %w", err)
	}
	return nil
}

// applyResult records the execution (by the result's id) and, with shed,
// sheds the task's share of the agent's load if it still holds it. A
// pipeline stage's task is shed by the hand-over's write instead, which
// gives the room to the pipeline's next stage before a waiting one takes it.
func (s *Store) applyResult(ctx context.Context, e events.TaskResult, scope, taskType string, success, shed bool, load float64) error {
	_, err := surreal.Query[any](ctx, s.db, `BEGIN TRANSACTION;
CREATE $applied;
CREATE $exec CONTENT { agent_id: $agentID, task_id: $taskID, task_type: $type, success: $success, duration_ms: $dur, at: time::now(),
	output: $output, input_tokens: $in, output_tokens: $out, cost_cents: $cost, scope: $scope };
IF $shed {
	`+shedSQL+`
};
COMMIT TRANSACTION;`, map[string]any{"task": rid("tasks", e.TaskID), "shed": shed, "applied": appliedID("result", e.ID), "exec": rid("agent_executions", e.ID),
		"scope": optional(nonEmpty(scope)), "agentID": e.AgentID, "taskID": e.TaskID, "type": taskType, "success": success, "dur": e.DurationMs,
		"agent": rid("agents", e.AgentID), "load": load, "output": optional(nonEmpty(e.Output)),
		"in": e.InputTokens, "out": e.OutputTokens, "cost": e.CostCents})
	if isDuplicate(err) {
		return errDuplicate
	}
	if err != nil {
		return fmt.Errorf("apply result: %w", err)
	}
	return nil
}

// recentExecutions is an agent's latest n executions of a task type, newest first.
func (s *Store) recentExecutions(ctx context.Context, agentID, taskType string, n int) ([]Execution, error) {
	execs, err := surreal.Query[[]Execution](ctx, s.db, `SELECT success, duration_ms, at FROM agent_executions
		WHERE agent_id = $a AND task_type = $t ORDER BY at DESC LIMIT $n`, map[string]any{"a": agentID, "t": taskType, "n": n})
	if err != nil {
		return nil, fmt.Errorf("read executions: %w", err)
	}
	return execs, nil
}

// saveExpertise writes an agent's expertise on a task type (last_updated: now).
func (s *Store) saveExpertise(ctx context.Context, x Expertise) error {
	_, err := surreal.Query[any](ctx, s.db, `UPSERT $id CONTENT { agent_id: $a, role: $role, task_type: $t, success_rate: $rate,
		avg_duration_ms: $dur, execution_count: $n, recent_weight: $recent, confidence: $conf, last_updated: time::now() }`,
		map[string]any{"id": rid("expertise", x.AgentID+"/"+x.TaskType), "a": x.AgentID, "role": x.Role, "t": x.TaskType,
			"rate": x.SuccessRate, "dur": x.AvgDurationMs, "n": x.ExecutionCount, "recent": x.RecentWeight, "conf": x.Confidence})
	if err != nil {
		return fmt.Errorf("write expertise: %w", err)
	}
	return nil
}

// TaskRecord reads a task as stored, without its place on the board (Order
// is 0): for readers that never show the board, such as the agent runner,
// which thus loads no project's board.
func (s *Store) TaskRecord(ctx context.Context, id string) (Task, error) {
	r, err := surreal.Query[*taskRow](ctx, s.db, "SELECT "+fields+" FROM ONLY $id", map[string]any{"id": rid("tasks", id)})
	if err != nil {
		return Task{}, fmt.Errorf("read task: %w", err)
	}
	if r == nil {
		return Task{}, ErrNotFound
	}
	return r.task(), nil
}

// doingTasksOf lists the Doing tasks assigned to an agent.
func (s *Store) doingTasksOf(ctx context.Context, agentID string) ([]Task, error) {
	rows, err := surreal.Query[[]taskRow](ctx, s.db, "SELECT "+fields+" FROM tasks WHERE assigned_agent = $a AND status = 'Doing'",
		map[string]any{"a": agentID})
	if err != nil {
		return nil, fmt.Errorf("find the agent's tasks: %w", err)
	}
	tasks := make([]Task, len(rows))
	for i, r := range rows {
		tasks[i] = r.task()
	}
	return tasks, nil
}

// silentAgents lists the agents not Offline whose last heartbeat is before cutoff.
func (s *Store) silentAgents(ctx context.Context, cutoff time.Time) ([]Agent, error) {
	stale, err := surreal.Query[[]Agent](ctx, s.db, "SELECT "+fields+" FROM agents WHERE status != 'Offline' AND last_heartbeat < $cutoff",
		map[string]any{"cutoff": cutoff})
	if err != nil {
		return nil, fmt.Errorf("find silent agents: %w", err)
	}
	return stale, nil
}

// markOffline sets an agent Offline if it is still silent since cutoff.
func (s *Store) markOffline(ctx context.Context, id string, cutoff time.Time) error {
	_, err := surreal.Query[any](ctx, s.db, "UPDATE $id SET status = 'Offline' WHERE last_heartbeat < $cutoff",
		map[string]any{"id": rid("agents", id), "cutoff": cutoff})
	if err != nil {
		return fmt.Errorf("mark agent %s offline: %w", id, err)
	}
	return nil
}

// deleteAgent removes an agent's record.
func (s *Store) deleteAgent(ctx context.Context, id string) error {
	if _, err := surreal.Query[any](ctx, s.db, "DELETE $id", map[string]any{"id": rid("agents", id)}); err != nil {
		return fmt.Errorf("delete agent %s: %w", id, err)
	}
	return nil
}

// SetRunner records who runs an agent ("builtin", or NONE for an outside worker).
func (s *Store) SetRunner(ctx context.Context, agentID string, runner *string) error {
	_, err := surreal.Query[any](ctx, s.db, "UPDATE $id SET runner = $runner",
		map[string]any{"id": rid("agents", agentID), "runner": optional(runner)})
	if err != nil {
		return fmt.Errorf("set runner of %s: %w", agentID, err)
	}
	return nil
}
