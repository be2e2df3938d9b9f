package vapora

import (
	"context"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// ---- knowledge (vapora-knowledge reads what agents did) --------------------------

// PastExecution is one recorded task result.
type PastExecution struct {
	TaskID     string    `json:"task_id"`
	AgentID    string    `json:"agent_id"`
	TaskType   string    `json:"task_type"`
	Success    bool      `json:"success"`
	DurationMs int64     `json:"duration_ms"`
	At         time.Time `json:"at"`
}

const pastFields = "task_id, agent_id, task_type, success, duration_ms, at"

// AgentExecutions lists an agent's executions on tasks of the given scopes,
// oldest first.
func (s *Store) AgentExecutions(ctx context.Context, agentID string, scopes []string, limit int) ([]PastExecution, error) {
	if scopes == nil {
		scopes = []string{}
	}
	list, err := surreal.Query[[]PastExecution](ctx, s.db, "SELECT "+pastFields+` FROM agent_executions
		WHERE agent_id = $a AND scope IN $scopes ORDER BY at LIMIT $n`, map[string]any{"a": agentID, "scopes": scopes, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("read the agent's executions: %w", err)
	}
	return list, nil
}

// ExecutionsOfType lists the latest executions of a task type on tasks of
// one scope, newest first, leaving one task out.
func (s *Store) ExecutionsOfType(ctx context.Context, scope, taskType, except string, limit int) ([]PastExecution, error) {
	list, err := surreal.Query[[]PastExecution](ctx, s.db, `SELECT `+pastFields+` FROM agent_executions
		WHERE scope = $scope AND task_type = $t AND task_id != $except ORDER BY at DESC LIMIT $n`,
		map[string]any{"scope": scope, "t": taskType, "except": except, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("read executions of %s: %w", taskType, err)
	}
	return list, nil
}

// AgentExpertise lists an agent's profiles.
func (s *Store) AgentExpertise(ctx context.Context, agentID string) ([]Expertise, error) {
	list, err := surreal.Query[[]Expertise](ctx, s.db, "SELECT * OMIT id FROM expertise WHERE agent_id = $a ORDER BY task_type",
		map[string]any{"a": agentID})
	if err != nil {
		return nil, fmt.Errorf("read expertise: %w", err)
	}
	return list, nil
}
