// Package events defines the NATS subjects and payloads that cross system
// boundaries. Every payload carries an id: publishers use it as the
// Nats-Msg-Id (JetStream drops a repeat) and consumers as their idempotency key.
// testdata/<subject>.json holds a fixture of each event.
package events

import (
	"fmt"
	"regexp"
	"time"
)

// Subjects.
const (
	// SubjectExecutionRecorded announces a finished execution of any system, to be kept
	// in the shared executions table.
	SubjectExecutionRecorded = "portfolio.executions.recorded"
)

// idPattern bounds event ids to what every store can key on (ULIDs, UUIDs, slugs).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// namePattern is for source systems and similar lower-case identifiers.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// ExecutionRecorded is published when a system finishes a unit of work
// (a Vapora task, a Provisioning workflow, a TypeDialog run).
type ExecutionRecorded struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	// Scope is the tenant the execution belongs to (a Vapora project's
	// scope): only callers holding it read the record, and Kogral files it
	// in that scope's graph. An execution without one is read by nobody.
	Scope      string         `json:"scope,omitempty"`
	Source     string         `json:"source"`
	TaskType   string         `json:"task_type"`
	AgentID    *string        `json:"agent_id,omitempty"`
	Status     string         `json:"status"`
	DurationMs int64          `json:"duration_ms"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	OccurredAt time.Time      `json:"occurred_at"`
}

// Validate reports the first field that is missing or malformed.
func (e ExecutionRecorded) Validate() error {
	switch {
	case !idPattern.MatchString(e.ID):
		return fmt.Errorf("id %q: want 1–128 letters, digits or _.:- starting with a letter or digit", e.ID)
	case e.Project == "" || len(e.Project) > 256:
		return fmt.Errorf("project: required, at most 256 bytes")
	case len(e.Scope) > 128:
		return fmt.Errorf("scope: at most 128 bytes")
	case !namePattern.MatchString(e.Source):
		return fmt.Errorf("source %q: want a lower-case system name such as vapora", e.Source)
	case e.TaskType == "" || len(e.TaskType) > 128:
		return fmt.Errorf("task_type: required, at most 128 bytes")
	case e.AgentID != nil && (*e.AgentID == "" || len(*e.AgentID) > 256):
		return fmt.Errorf("agent_id: when given, 1–256 bytes")
	case e.Status == "" || len(e.Status) > 64:
		return fmt.Errorf("status: required, at most 64 bytes")
	case e.DurationMs < 0:
		return fmt.Errorf("duration_ms: %d is negative", e.DurationMs)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("occurred_at: required (RFC 3339)")
	}
	return nil
}
