// Package portfolio holds what the five systems share: the cross-system
// execution records (the seed's executions table), their HTTP API and the
// consumer that stores executions announced on the bus.
package portfolio

import (
	"fmt"
	"regexp"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// Execution is one finished unit of work of any system.
type Execution struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	// Scope is the tenant the execution belongs to (schemas/cedar/portfolio).
	Scope      string         `json:"scope,omitempty"`
	Source     string         `json:"source"`
	TaskType   string         `json:"task_type"`
	AgentID    *string        `json:"agent_id,omitempty"`
	Status     string         `json:"status"`
	DurationMs int64          `json:"duration_ms"`
	Metadata   map[string]any `json:"metadata"`
	CreatedAt  time.Time      `json:"created_at"`
	// EventID is the bus event that recorded it, if it came from the bus.
	EventID *string `json:"event_id,omitempty"`
}

// NewExecution is the body of POST /executions.
type NewExecution struct {
	Project string `json:"project"`
	// Scope defaults to the caller's only scope; a caller holding several names one.
	Scope      string         `json:"scope,omitempty"`
	Source     string         `json:"source"`
	TaskType   string         `json:"task_type"`
	AgentID    *string        `json:"agent_id,omitempty"`
	Status     string         `json:"status"`
	DurationMs *int64         `json:"duration_ms"`
	Metadata   map[string]any `json:"metadata,omitempty"`
}

var sourcePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Validate returns a 400 naming the first bad field.
func (n NewExecution) Validate() error {
	if err := httpapi.Require(httpapi.Str("project", n.Project), httpapi.Str("source", n.Source),
		httpapi.Str("task_type", n.TaskType), httpapi.Str("status", n.Status),
		httpapi.Field{Name: "duration_ms", Empty: n.DurationMs == nil}); err != nil {
		return err
	}
	switch {
	case len(n.Project) > 256:
		return httpapi.BadRequest("field \"project\": at most 256 bytes")
	case len(n.Scope) > 128:
		return httpapi.BadRequest("field \"scope\": at most 128 bytes")
	case !sourcePattern.MatchString(n.Source):
		return httpapi.BadRequest("field \"source\": %q is not a lower-case system name such as vapora", n.Source)
	case len(n.TaskType) > 128:
		return httpapi.BadRequest("field \"task_type\": at most 128 bytes")
	case len(n.Status) > 64:
		return httpapi.BadRequest("field \"status\": at most 64 bytes")
	case n.AgentID != nil && (*n.AgentID == "" || len(*n.AgentID) > 256):
		return httpapi.BadRequest("field \"agent_id\": when given, 1–256 bytes")
	case *n.DurationMs < 0:
		return httpapi.BadRequest("field \"duration_ms\": %d is negative", *n.DurationMs)
	}
	return nil
}

// fromEvent maps a bus event to the record it creates.
func fromEvent(e events.ExecutionRecorded) (NewExecution, error) {
	if err := e.Validate(); err != nil {
		return NewExecution{}, fmt.Errorf("invalid %s event: %w", events.SubjectExecutionRecorded, err)
	}
	d := e.DurationMs
	return NewExecution{Project: e.Project, Scope: e.Scope, Source: e.Source, TaskType: e.TaskType, AgentID: e.AgentID,
		Status: e.Status, DurationMs: &d, Metadata: e.Metadata}, nil
}

// Filter selects executions for listing, newest first.
type Filter struct {
	// Scopes are the scopes whose executions may be listed (the caller's).
	Scopes  []string
	Project string
	Source  string
	Since   time.Time // inclusive
	Until   time.Time // exclusive
	Limit   int
	// After continues a listing after this cursor (from the previous page).
	After *Cursor
}

// Cursor is the position of the last execution of a page.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}
