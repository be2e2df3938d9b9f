package vapora

import (
	"context"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// TaskExecution is one agent's run of a task, with what it cost.
type TaskExecution struct {
	ID           string    `json:"id"`
	AgentID      string    `json:"agent_id"`
	Success      bool      `json:"success"`
	DurationMs   int64     `json:"duration_ms"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostCents    float64   `json:"cost_cents"`
	At           time.Time `json:"at"`
}

// TaskExecutions are a task's latest executions, newest first, and what all
// of them cost.
type TaskExecutions struct {
	TaskID         string          `json:"task_id"`
	Executions     []TaskExecution `json:"executions"`
	Total          int             `json:"total"`
	TotalCostCents float64         `json:"total_cost_cents"`
}

// TaskExecutions reads a task's latest limit executions and the count and
// cost of all of them (summed in the database), in one round trip.
func (s *Store) TaskExecutions(ctx context.Context, taskID string, limit int) (TaskExecutions, error) {
	out, err := surreal.Query[TaskExecutions](ctx, s.db, `LET $latest = (SELECT record::id(id) AS id, agent_id, success, duration_ms,
		input_tokens ?? 0 AS input_tokens, output_tokens ?? 0 AS output_tokens, cost_cents ?? 0 AS cost_cents, at
	FROM agent_executions WHERE task_id = $t ORDER BY at DESC LIMIT $n);
LET $sum = (SELECT count() AS n, math::sum(cost_cents ?? 0) AS cost FROM agent_executions WHERE task_id = $t GROUP ALL)[0];
RETURN { task_id: $t, executions: $latest, total: $sum.n ?? 0, total_cost_cents: <float> ($sum.cost ?? 0) };`,
		map[string]any{"t": taskID, "n": limit})
	if err != nil {
		return TaskExecutions{}, fmt.Errorf("read executions of task %s: %w", taskID, err)
	}
	if out.Executions == nil {
		out.Executions = []TaskExecution{}
	}
	return out, nil
}
