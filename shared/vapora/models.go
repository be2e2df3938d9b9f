// Package vapora is Vapora's core: projects in multi-tenant scopes, Kanban
// tasks with a dense order per column, and agents that learn which task
// types they are good at (spec seed, Vapora). The HTTP functions are
// vapora-projects and vapora-agents; NATS consumers apply assignments,
// results, heartbeats and registrations; a scheduled sweep turns silent
// agents Offline.
package vapora

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/events"
)

// Enum values, as the seed names them.
var (
	ProjectStatuses = []string{"Active", "Archived", "OnHold"}
	TaskStatuses    = []string{"Todo", "Doing", "Review", "Done"}
	TaskPriorities  = []string{"Low", "Medium", "High", "Critical"}
)

// Project is a unit of work in a scope.
type Project struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Scope       string  `json:"scope"`
	Status      string  `json:"status"`
	// Approvers is the group (a scope its members hold) that decides on the
	// approval gates of the project's pipelines. Only the project's
	// administrators set it.
	Approvers *string   `json:"approvers"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Task is a card on a project's Kanban board.
type Task struct {
	ID            string    `json:"id"`
	ProjectID     string    `json:"project_id"`
	Scope         string    `json:"-"`
	Title         string    `json:"title"`
	Description   *string   `json:"description"`
	Status        string    `json:"status"`
	Priority      string    `json:"priority"`
	AssignedAgent *string   `json:"assigned_agent"`
	TaskType      *string   `json:"task_type,omitempty"`
	Tags          []string  `json:"tags"`
	Order         int       `json:"order"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Agent is a worker of one role.
type Agent struct {
	ID            string    `json:"id"`
	Role          string    `json:"role"`
	Status        string    `json:"status"`
	Provider      string    `json:"provider"`
	CurrentLoad   float64   `json:"current_load"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Capabilities  []string  `json:"capabilities"`
	RegisteredAt  time.Time `json:"registered_at"`
	// Runner is "builtin" for an LLM agent that Vapora runs itself.
	Runner *string `json:"runner,omitempty"`
}

// Expertise is what an agent has shown on one task type.
type Expertise struct {
	AgentID        string    `json:"agent_id"`
	Role           string    `json:"role"`
	TaskType       string    `json:"task_type"`
	SuccessRate    float64   `json:"success_rate"`
	AvgDurationMs  float64   `json:"avg_duration_ms"`
	ExecutionCount int       `json:"execution_count"`
	RecentWeight   float64   `json:"recent_weight"`
	Confidence     float64   `json:"confidence"`
	LastUpdated    time.Time `json:"last_updated"`
}

func newID(prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return prefix + "_" + hex.EncodeToString(b)
}

// oneOf checks an enum field.
func oneOf(field, v string, allowed []string) error { return events.OneOf(field, v, allowed) }
