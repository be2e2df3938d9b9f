package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Run reads the result a built-in run of an assignment produced; nil when none.
func (s *Store) Run(ctx context.Context, assignmentID string) (*events.TaskResult, error) {
	row, err := surreal.Query[*struct {
		Result events.TaskResult `json:"result"`
	}](ctx, s.db, "SELECT result FROM ONLY $id", map[string]any{"id": rid("llm_runs", assignmentID)})
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", assignmentID, err)
	}
	if row == nil {
		return nil, nil
	}
	return &row.Result, nil
}

// SaveRun keeps the result of an assignment's run; a second save of the
// same assignment (a concurrent redelivery) keeps the first.
func (s *Store) SaveRun(ctx context.Context, assignmentID, taskID string, res events.TaskResult) error {
	_, err := surreal.Query[any](ctx, s.db, "CREATE $id CONTENT { task_id: $task, result: $res, at: time::now() }",
		map[string]any{"id": rid("llm_runs", assignmentID), "task": taskID, "res": map[string]any{"id": res.ID,
			"task_id": res.TaskID, "agent_id": res.AgentID, "status": res.Status, "output": res.Output,
			"duration_ms": res.DurationMs, "tokens": res.Tokens, "input_tokens": res.InputTokens,
			"output_tokens": res.OutputTokens, "cost_cents": res.CostCents}})
	var qe *surreal.QueryError
	if errors.As(err, &qe) && strings.Contains(qe.Message, "already exists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save run %s: %w", assignmentID, err)
	}
	return nil
}
