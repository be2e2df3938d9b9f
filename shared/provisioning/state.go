package provisioning

import (
	"encoding/json"
	"time"
)

// Workflow statuses.
const (
	StatusPending        = "Pending"
	StatusRunning        = "Running"
	StatusSucceeded      = "Succeeded"
	StatusCancelling     = "Cancelling"
	StatusRollingBack    = "RollingBack"
	StatusRolledBack     = "RolledBack"
	StatusRollbackFailed = "RollbackFailed"
)

// Task states.
const (
	TaskPending        = "Pending"
	TaskQueued         = "Queued"
	TaskRunning        = "Running"
	TaskRetrying       = "Retrying"
	TaskSucceeded      = "Succeeded"
	TaskFailed         = "Failed"
	TaskSkipped        = "Skipped"
	TaskRolledBack     = "RolledBack"
	TaskRollbackFailed = "RollbackFailed"
)

// inFlight reports a task state that a step is working on or will work on.
func inFlight(state string) bool {
	return state == TaskQueued || state == TaskRunning || state == TaskRetrying
}

// Resource is what a provider made for a task.
type Resource struct {
	// ID is the provider's id of the resource (an instance id, a UUID, a
	// local directory's key).
	ID       string            `json:"id"`
	Kind     string            `json:"kind"`
	Provider string            `json:"provider"`
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// WorkflowState is a stored workflow with its tasks.
type WorkflowState struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Environment string      `json:"environment"`
	Scope       string      `json:"scope"`
	Status      string      `json:"status"`
	MaxParallel int         `json:"max_parallel"`
	Order       []string    `json:"order"`
	Waves       [][]string  `json:"waves"`
	Run         int         `json:"run"`
	Version     int         `json:"version"`
	Error       *string     `json:"error,omitempty"`
	Left        []string    `json:"left"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	FinishedAt  *time.Time  `json:"finished_at,omitempty"`
	Tasks       []TaskState `json:"tasks"`
	// Steps are the checkpoints of every provider call, oldest first (GET
	// /workflows/{id} only): each attempt's timings and outcome, each delete.
	Steps []Step `json:"steps,omitempty"`
}

// TaskState is a task's checkpoint: its state, attempts, timings and resource.
type TaskState struct {
	Workflow      string         `json:"workflow"`
	Task          string         `json:"task"`
	Position      int            `json:"position"`
	Kind          string         `json:"kind"`
	Provider      string         `json:"provider"`
	Spec          map[string]any `json:"spec"`
	DependsOn     []string       `json:"depends_on"`
	State         string         `json:"state"`
	Attempt       int            `json:"attempt"`
	MaxAttempts   int            `json:"max_attempts"`
	BaseDelayMs   int64          `json:"base_delay_ms"`
	MaxDelayMs    int64          `json:"max_delay_ms"`
	TimeoutMs     int64          `json:"timeout_ms"`
	Resource      *Resource      `json:"resource,omitempty"`
	Error         *string        `json:"error,omitempty"`
	StartedAt     *time.Time     `json:"started_at,omitempty"`
	FinishedAt    *time.Time     `json:"finished_at,omitempty"`
	NextAttemptAt *time.Time     `json:"next_attempt_at,omitempty"`
}

// Prepared turns the stored task back into a runnable task.
func (t TaskState) Prepared() PreparedTask {
	spec, _ := json.Marshal(t.Spec)
	return PreparedTask{ID: t.Task, Kind: t.Kind, Provider: t.Provider, Spec: spec, DependsOn: t.DependsOn,
		Retry: RetryPolicy{MaxAttempts: t.MaxAttempts, BaseDelay: time.Duration(t.BaseDelayMs) * time.Millisecond,
			MaxDelay: time.Duration(t.MaxDelayMs) * time.Millisecond},
		Timeout: time.Duration(t.TimeoutMs) * time.Millisecond}
}

// Task returns the task named id.
func (w *WorkflowState) Task(id string) *TaskState {
	for i := range w.Tasks {
		if w.Tasks[i].Task == id {
			return &w.Tasks[i]
		}
	}
	return nil
}

// Step is one checkpointed provider call.
type Step struct {
	Workflow   string     `json:"workflow"`
	Task       string     `json:"task"`
	Action     string     `json:"action"`
	Attempt    int        `json:"attempt"`
	Run        int        `json:"run"`
	State      string     `json:"state"`
	Resource   *Resource  `json:"resource,omitempty"`
	Error      *string    `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}
