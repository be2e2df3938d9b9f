package vapora

// RunnerBuiltin marks an agent that Vapora runs itself: the LLM router's
// agent runner (shared/vapora/llm) does the tasks assigned to it.
const RunnerBuiltin = "builtin"

// nonEmpty is nil for "", else a pointer to s.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
