package vapora

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// ---- swarm ----------------------------------------------------------------------

// OpenTask is an assigned task that is not finished: queued (Todo) or in progress (Doing).
type OpenTask struct {
	ID            string  `json:"id"`
	ProjectID     string  `json:"project_id"`
	Title         string  `json:"title"`
	Status        string  `json:"status"`
	AssignedAgent string  `json:"assigned_agent"`
	TaskType      *string `json:"task_type"`
}

// OpenTasks lists the assigned Todo and Doing tasks, of every agent.
func (s *Store) OpenTasks(ctx context.Context) ([]OpenTask, error) {
	return s.openTasks(ctx, nil)
}

// OpenTasksIn is OpenTasks of the given scopes' projects only.
func (s *Store) OpenTasksIn(ctx context.Context, scopes []string) ([]OpenTask, error) {
	if scopes == nil {
		scopes = []string{}
	}
	return s.openTasks(ctx, scopes)
}

func (s *Store) openTasks(ctx context.Context, scopes []string) ([]OpenTask, error) {
	where := ""
	if scopes != nil {
		where = " AND scope IN $scopes"
	}
	list, err := surreal.Query[[]OpenTask](ctx, s.db, `SELECT record::id(id) AS id, project_id, title, status, assigned_agent, task_type
		FROM tasks WHERE assigned_agent != NONE AND status IN ['Todo', 'Doing']`+where+` ORDER BY id`, map[string]any{"scopes": scopes})
	if err != nil {
		return nil, fmt.Errorf("list open tasks: %w", err)
	}
	return list, nil
}

// Outcome is one recorded execution: which agent, whether it succeeded.
type Outcome struct {
	AgentID string `json:"agent_id"`
	Success bool   `json:"success"`
}

// OutcomesSince lists the executions recorded since a time.
func (s *Store) OutcomesSince(ctx context.Context, since time.Time) ([]Outcome, error) {
	list, err := surreal.Query[[]Outcome](ctx, s.db, "SELECT agent_id, success FROM agent_executions WHERE at >= $since",
		map[string]any{"since": since})
	if err != nil {
		return nil, fmt.Errorf("read recent executions: %w", err)
	}
	return list, nil
}

// AllExpertise lists every profile.
func (s *Store) AllExpertise(ctx context.Context) ([]Expertise, error) {
	list, err := surreal.Query[[]Expertise](ctx, s.db, "SELECT * OMIT id FROM expertise ORDER BY agent_id, task_type", nil)
	if err != nil {
		return nil, fmt.Errorf("read expertise: %w", err)
	}
	return list, nil
}

// takeLoadSQL is an assignment's share of its agent's load ($agent,
// $agentID), taken in the write that assigns the task ($id) unless the task
// holds it on that agent already: the agent that held it (load_on) gives it
// back, and the new one takes it only if it is Ready and stays within 1.0
// (reserveSQL: else the transaction fails with "agent_full").
const takeLoadSQL = `LET $prev = (SELECT VALUE load_on FROM ONLY $id);
IF $prev != $agentID {
	IF $prev != NONE AND $prev != '' {
		UPDATE type::record('agents', $prev) SET ` + lessLoadSQL + ` RETURN NONE;
	};
	` + reserveSQL + `
	UPDATE $id SET load_on = $agentID RETURN NONE;
};`

// SetAssignment gives t to agent as taskType if the task is still in the
// column and with the agent it was read with (errStale if not); the agent
// takes on the task's load in the same transaction if it is Ready and has
// room (errAgentFull if not), and an agent the task is taken from sheds it.
// The cap thus holds whichever instances assign at once.
func (s *Store) SetAssignment(ctx context.Context, t Task, agent, taskType string) (Task, error) {
	row, err := s.setAssignmentRow(ctx, t, agent, taskType)
	if err != nil {
		return Task{}, err
	}
	return s.withOrder(ctx, row)
}

// setAssignmentRow is SetAssignment's write; it returns the record without its order.
func (s *Store) setAssignmentRow(ctx context.Context, t Task, agent, taskType string) (taskRow, error) {
	rows, err := surreal.Query[[]taskRow](ctx, s.db, withHistory("$id", `UPDATE $id SET assigned_agent = $agentID, task_type = $tt,
		updated_at = time::now() WHERE status = $s AND assigned_agent = $held RETURN `+fields, takeLoadSQL),
		map[string]any{"id": rid("tasks", t.ID), "agentID": agent, "agent": rid("agents", agent), "load": loadPerTask, "tt": taskType,
			"s": t.Status, "held": optional(t.AssignedAgent), "h": mark(ctx, "assigned")})
	switch {
	case err != nil && strings.Contains(err.Error(), "agent_full"):
		return taskRow{}, errAgentFull
	case err != nil:
		return taskRow{}, fmt.Errorf("assign task: %w", err)
	case len(rows) == 0:
		return taskRow{}, errStale
	}
	return rows[0], nil
}
