package events

import (
	"fmt"
	"slices"
	"strings"
)

// Vapora's subjects (spec seed, Vapora: NATS subjects).
const (
	// SubjectTaskAssign hands a task to an agent.
	SubjectTaskAssign = "vapora.tasks.assign"
	// SubjectTaskResult reports what an agent did with a task.
	SubjectTaskResult = "vapora.tasks.results"
	// SubjectAgentHeartbeat says an agent is alive, with its status and load.
	SubjectAgentHeartbeat = "vapora.agents.heartbeat"
	// SubjectAgentRegister announces a new agent.
	SubjectAgentRegister = "vapora.agents.register"
	// SubjectTaskReleased says a task went back to Todo because its agent went away.
	SubjectTaskReleased = "vapora.tasks.released"
)

// The seed's enums, spelled as the seed spells them on the wire.
var (
	AgentRoles = []string{"Architect", "Developer", "CodeReviewer", "Tester", "Documenter", "Marketer",
		"Presenter", "DevOps", "Monitor", "Security", "ProjectManager", "DecisionMaker"}
	AgentStatuses = []string{"Ready", "Busy", "Offline", "Maintenance"}
	LLMProviders  = []string{"Claude", "OpenAI", "Gemini", "Ollama"}
)

// OneOf names the allowed values when v is not one of them.
func OneOf(field, v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s %q: want one of %s", field, v, strings.Join(allowed, ", "))
}

func checkID(field, v string) error {
	if !idPattern.MatchString(v) {
		return fmt.Errorf("%s %q: want 1–128 letters, digits or _.:- starting with a letter or digit", field, v)
	}
	return nil
}

// TaskAssignment is published on vapora.tasks.assign.
type TaskAssignment struct {
	ID       string         `json:"id"`
	TaskID   string         `json:"task_id"`
	AgentID  string         `json:"agent_id"`
	TaskType string         `json:"task_type"`
	Payload  map[string]any `json:"payload,omitempty"`
}

// Validate reports the first field that is missing or malformed.
func (e TaskAssignment) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"task_id", e.TaskID}, {"agent_id", e.AgentID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	if e.TaskType == "" || len(e.TaskType) > 128 {
		return fmt.Errorf("task_type: required, at most 128 bytes")
	}
	return nil
}

// maxOutput bounds a result's output (JetStream's default message limit is 1 MiB).
const maxOutput = 512 << 10

// TaskResult is published on vapora.tasks.results.
type TaskResult struct {
	ID         string `json:"id"`
	TaskID     string `json:"task_id"`
	AgentID    string `json:"agent_id"`
	Status     string `json:"status"` // success or failure
	Output     string `json:"output,omitempty"`
	DurationMs int64  `json:"duration_ms"`
	Tokens     int64  `json:"tokens"`
	// The split token counts and the cost of the call, from LLM agents
	// (the built-in runner); Tokens is their sum.
	InputTokens  int64   `json:"input_tokens,omitempty"`
	OutputTokens int64   `json:"output_tokens,omitempty"`
	CostCents    float64 `json:"cost_cents,omitempty"`
}

// Validate reports the first field that is missing or malformed.
func (e TaskResult) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"task_id", e.TaskID}, {"agent_id", e.AgentID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	switch {
	case e.Status != "success" && e.Status != "failure":
		return fmt.Errorf("status %q: want success or failure", e.Status)
	case e.DurationMs < 0:
		return fmt.Errorf("duration_ms: %d is negative", e.DurationMs)
	case e.Tokens < 0:
		return fmt.Errorf("tokens: %d is negative", e.Tokens)
	case e.InputTokens < 0 || e.OutputTokens < 0:
		return fmt.Errorf("input_tokens, output_tokens: must not be negative")
	case e.CostCents < 0:
		return fmt.Errorf("cost_cents: %v is negative", e.CostCents)
	case len(e.Output) > maxOutput:
		return fmt.Errorf("output: %d bytes, at most %d", len(e.Output), maxOutput)
	}
	return nil
}

// Heartbeat is published on vapora.agents.heartbeat.
type Heartbeat struct {
	ID          string  `json:"id"`
	AgentID     string  `json:"agent_id"`
	Status      string  `json:"status"`
	CurrentLoad float64 `json:"current_load"`
}

// Validate reports the first field that is missing or malformed.
func (e Heartbeat) Validate() error {
	if err := checkID("id", e.ID); err != nil {
		return err
	}
	if err := checkID("agent_id", e.AgentID); err != nil {
		return err
	}
	if err := OneOf("status", e.Status, AgentStatuses); err != nil {
		return err
	}
	if e.CurrentLoad < 0 || e.CurrentLoad > 1 {
		return fmt.Errorf("current_load %v: want 0–1", e.CurrentLoad)
	}
	return nil
}

// AgentRegistration is published on vapora.agents.register.
type AgentRegistration struct {
	ID           string   `json:"id"`
	AgentID      string   `json:"agent_id"`
	Role         string   `json:"role"`
	Capabilities []string `json:"capabilities"`
	// Provider is the agent's LLM provider; Claude when absent.
	Provider string `json:"provider,omitempty"`
}

// Validate reports the first field that is missing or malformed.
func (e AgentRegistration) Validate() error {
	if err := checkID("id", e.ID); err != nil {
		return err
	}
	if err := checkID("agent_id", e.AgentID); err != nil {
		return err
	}
	if err := OneOf("role", e.Role, AgentRoles); err != nil {
		return err
	}
	if e.Provider != "" {
		if err := OneOf("provider", e.Provider, LLMProviders); err != nil {
			return err
		}
	}
	if len(e.Capabilities) > 64 {
		return fmt.Errorf("capabilities: at most 64")
	}
	return nil
}

// TaskReleased is published on vapora.tasks.released.
type TaskReleased struct {
	ID      string `json:"id"`
	TaskID  string `json:"task_id"`
	AgentID string `json:"agent_id"`
	Reason  string `json:"reason"`
}

// Validate reports the first field that is missing or malformed.
func (e TaskReleased) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"task_id", e.TaskID}, {"agent_id", e.AgentID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	if e.Reason == "" {
		return fmt.Errorf("reason: required")
	}
	return nil
}
