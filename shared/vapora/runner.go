package vapora

import (
	"context"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// RunnerBuiltin marks an agent that Vapora runs itself: the LLM router's
// agent runner (shared/vapora/llm) does the tasks assigned to it.
const RunnerBuiltin = "builtin"

// SetRunner records who runs an agent ("builtin", or NONE for an outside worker).
func (s *Store) SetRunner(ctx context.Context, agentID string, runner *string) error {
	_, err := surreal.Query[any](ctx, s.db, "UPDATE $id SET runner = $runner",
		map[string]any{"id": rid("agents", agentID), "runner": optional(runner)})
	if err != nil {
		return fmt.Errorf("set runner of %s: %w", agentID, err)
	}
	return nil
}

// nonEmpty is nil for "", else a pointer to s.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
