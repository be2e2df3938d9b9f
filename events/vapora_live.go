package events

import (
	"fmt"
	"time"
)

// SubjectTasksChanged says a task of a board was written: created, edited,
// moved to another column or within one, assigned, or deleted. Vapora
// publishes it after the write; vapora-live-push hands it to the browsers
// watching the board.
const SubjectTasksChanged = "vapora.tasks.changed"

// TaskChanges are the kinds of write a TasksChanged reports.
var TaskChanges = []string{"created", "updated", "status", "order", "assigned", "deleted"}

// TasksChanged is published on vapora.tasks.changed. It names the task and
// what happened; a page reads the task (or the board) again through the API,
// so the event carries no more of the task than a board needs to place it.
type TasksChanged struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	Scope     string    `json:"scope"`
	TaskID    string    `json:"task_id"`
	Change    string    `json:"change"`
	Status    string    `json:"status,omitempty"`
	By        string    `json:"by,omitempty"`
	At        time.Time `json:"at"`
}

// Validate reports the first field that is missing or malformed.
func (e TasksChanged) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"project_id", e.ProjectID}, {"task_id", e.TaskID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	if e.Scope == "" {
		return fmt.Errorf("scope: required")
	}
	return OneOf("change", e.Change, TaskChanges)
}

// SubjectAgentsChanged says an agent's status changed: it registered, its
// heartbeats turned it Ready or Busy, the sweep found it silent (Offline), or
// it was unregistered. vapora-live-push hands it to the pages watching the
// agents.
const SubjectAgentsChanged = "vapora.agents.changed"

// AgentChanges are the kinds of change an AgentsChanged reports.
var AgentChanges = []string{"registered", "status", "offline", "unregistered"}

// AgentsChanged is published on vapora.agents.changed.
type AgentsChanged struct {
	ID      string    `json:"id"`
	AgentID string    `json:"agent_id"`
	Change  string    `json:"change"`
	Status  string    `json:"status,omitempty"`
	Load    float64   `json:"load"`
	At      time.Time `json:"at"`
}

// Validate reports the first field that is missing or malformed.
func (e AgentsChanged) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"agent_id", e.AgentID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	if e.Status != "" {
		if err := OneOf("status", e.Status, AgentStatuses); err != nil {
			return err
		}
	}
	return OneOf("change", e.Change, AgentChanges)
}
