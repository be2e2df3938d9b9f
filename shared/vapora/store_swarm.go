package vapora

import (
	"context"
	"fmt"
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

// Unassign takes a queued task off agent, which sheds its load, in one
// transaction; false when the task was started or taken meanwhile.
func (s *Store) Unassign(ctx context.Context, taskID, agent string) (bool, error) {
	res, err := surreal.QueryAll[any](ctx, s.db, withHistory("$task",
		`UPDATE $task SET assigned_agent = NONE, updated_at = time::now() WHERE status = 'Todo' AND assigned_agent = $agentID RETURN VALUE id`,
		shedSQL),
		map[string]any{"task": rid("tasks", taskID), "agentID": agent, "agent": rid("agents", agent), "load": loadPerTask,
			"h": mark(ctx, "assigned")})
	if err != nil {
		return false, fmt.Errorf("unassign task: %w", err)
	}
	moved, _ := res[len(res)-1].([]any)
	return len(moved) > 0, nil
}
