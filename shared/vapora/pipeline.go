package vapora

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/events"
)

// Pipeline statuses.
const (
	PipelineRunning        = "Running"
	PipelineSucceeded      = "Succeeded"
	PipelineFailed         = "Failed" // a stage failed and nothing had to be rolled back
	PipelineCancelled      = "Cancelled"
	PipelineRollingBack    = "RollingBack"
	PipelineRolledBack     = "RolledBack"
	PipelineRollbackFailed = "RollbackFailed"
)

// Stage statuses (events.StageStatuses).
const (
	StagePending          = "Pending"
	StageRunning          = "Running"
	StageAwaitingApproval = "AwaitingApproval"
	StageSucceeded        = "Succeeded"
	StageFailed           = "Failed"
	StageCancelled        = "Cancelled"
	StageRolledBack       = "RolledBack"
)

// ApprovalGate says a stage's success waits for a decision of Approvers (a
// group: a scope its members hold) within Timeout.
type ApprovalGate struct {
	Required  bool   `json:"required"`
	Approvers string `json:"approvers"`
	Timeout   string `json:"timeout,omitempty"`
}

// RollbackSpec is the task that undoes a succeeded stage.
type RollbackSpec struct {
	TaskType string `json:"task_type"`
	Role     string `json:"role"`
	Title    string `json:"title,omitempty"`
}

// Stage is one step of a pipeline: a task for an agent of Role.
type Stage struct {
	Name     string        `json:"name"`
	TaskType string        `json:"task_type"`
	Role     string        `json:"role"`
	Title    string        `json:"title,omitempty"`
	Approval *ApprovalGate `json:"approval,omitempty"`
	Rollback *RollbackSpec `json:"rollback,omitempty"`

	Status      string     `json:"status"`
	TaskID      *string    `json:"task_id"`
	AgentID     *string    `json:"agent_id"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	ApprovalDue *time.Time `json:"approval_due,omitempty"`
	Approver    *string    `json:"approver"`
	Decision    *string    `json:"decision,omitempty"`
	Comment     *string    `json:"comment"`
	// The rollback task of a succeeded stage, once the pipeline rolls back.
	RollbackTaskID *string `json:"rollback_task_id,omitempty"`
	RollbackStatus *string `json:"rollback_status,omitempty"`
	// MayDecide, in an answer, says the caller may approve or reject this
	// stage now (it awaits approval and Cedar allows them); never stored.
	MayDecide bool `json:"may_decide,omitempty"`
}

// Pipeline is a run of stages, one at a time.
type Pipeline struct {
	ID          string     `json:"id"`
	ProjectID   string     `json:"project_id"`
	Scope       string     `json:"scope"`
	Name        string     `json:"name"`
	Status      string     `json:"status"`
	Requester   string     `json:"requester"`
	Stages      []Stage    `json:"stages"`
	FailedStage *string    `json:"failed_stage,omitempty"`
	Version     int        `json:"version"`
	ApprovalDue *time.Time `json:"approval_due,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

var taskTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// maxStages bounds a pipeline.
const maxStages = 50

// StageError is a pipeline definition refused because of one stage (400).
type StageError struct {
	Stage string
	Msg   string
}

func (e *StageError) Error() string { return fmt.Sprintf("stage %q: %s", e.Stage, e.Msg) }

// CheckStages validates a pipeline's stage definitions.
func CheckStages(stages []Stage) error {
	if len(stages) == 0 {
		return &StageError{Msg: "a pipeline needs at least one stage"}
	}
	if len(stages) > maxStages {
		return &StageError{Stage: stages[maxStages].Name, Msg: fmt.Sprintf("at most %d stages", maxStages)}
	}
	seen := map[string]bool{}
	for i, s := range stages {
		name := s.Name
		switch {
		case strings.TrimSpace(name) == "" || len(name) > 64:
			return &StageError{Stage: fmt.Sprint("#", i+1), Msg: "name: required, at most 64 bytes"}
		case seen[name]:
			return &StageError{Stage: name, Msg: "duplicate stage name"}
		case !taskTypePattern.MatchString(s.TaskType):
			return &StageError{Stage: name, Msg: fmt.Sprintf("task_type %q: want lower-case letters, digits or _.- (1–64, starting with a letter)", s.TaskType)}
		case events.OneOf("role", s.Role, events.AgentRoles) != nil:
			return &StageError{Stage: name, Msg: events.OneOf("role", s.Role, events.AgentRoles).Error()}
		case len(s.Title) > 500:
			return &StageError{Stage: name, Msg: "title: at most 500 bytes"}
		}
		seen[name] = true
		if err := checkGate(s); err != nil {
			return err
		}
	}
	return nil
}

// GateApprovers gives every required gate the approver group of the
// project's configuration: the requester does not choose who approves. A
// gate may name the group only if it is the project's (as a check); a
// project with no group configured takes no gates.
func GateApprovers(p Project, stages []Stage) error {
	for i, s := range stages {
		a := s.Approval
		if a == nil || !a.Required {
			continue
		}
		switch {
		case p.Approvers == nil:
			return &StageError{Stage: s.Name, Msg: fmt.Sprintf("approval: project %s has no approver group; "+
				"its administrators set one (PUT /projects/%s {\"approvers\": \"<group>\"})", p.ID, p.ID)}
		case a.Approvers != "" && a.Approvers != *p.Approvers:
			return &StageError{Stage: s.Name, Msg: fmt.Sprintf("approval.approvers %q: the approvers of project %s are set by its configuration (%q), not by the pipeline",
				a.Approvers, p.ID, *p.Approvers)}
		}
		gate := *a
		gate.Approvers = *p.Approvers
		stages[i].Approval = &gate
	}
	return nil
}

func checkGate(s Stage) error {
	if a := s.Approval; a != nil && a.Required {
		if !idPattern.MatchString(a.Approvers) {
			return &StageError{Stage: s.Name, Msg: fmt.Sprintf("approval.approvers %q: want a group name", a.Approvers)}
		}
		if _, err := gateTimeout(a); err != nil {
			return &StageError{Stage: s.Name, Msg: err.Error()}
		}
	}
	if r := s.Rollback; r != nil {
		if !taskTypePattern.MatchString(r.TaskType) {
			return &StageError{Stage: s.Name, Msg: fmt.Sprintf("rollback.task_type %q: want lower-case letters, digits or _.-", r.TaskType)}
		}
		if err := events.OneOf("rollback.role", r.Role, events.AgentRoles); err != nil {
			return &StageError{Stage: s.Name, Msg: err.Error()}
		}
	}
	return nil
}

// defaultGateTimeout applies when a gate names none.
const defaultGateTimeout = 24 * time.Hour

func gateTimeout(a *ApprovalGate) (time.Duration, error) {
	if a.Timeout == "" {
		return defaultGateTimeout, nil
	}
	d, err := time.ParseDuration(a.Timeout)
	if err != nil || d <= 0 || d > 30*24*time.Hour {
		return 0, fmt.Errorf("approval.timeout %q: want a duration such as 30m or 24h, at most 720h", a.Timeout)
	}
	return d, nil
}

// Stage task ids carry their pipeline and stage, so that a task result finds
// its pipeline without a lookup, and creating a stage's task twice is a no-op.
const (
	runTaskPrefix      = "pt_"
	rollbackTaskPrefix = "pr_"
)

func stageTaskID(pipeline string, stage int, rollback bool) string {
	prefix := runTaskPrefix
	if rollback {
		prefix = rollbackTaskPrefix
	}
	return prefix + pipeline + "_" + strconv.Itoa(stage)
}

// ParseStageTask reads a stage task id; ok is false for any other task.
func ParseStageTask(taskID string) (pipeline string, stage int, rollback, ok bool) {
	rest, isRun := strings.CutPrefix(taskID, runTaskPrefix)
	if !isRun {
		var isRb bool
		if rest, isRb = strings.CutPrefix(taskID, rollbackTaskPrefix); !isRb {
			return "", 0, false, false
		}
		rollback = true
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return "", 0, false, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil || n < 0 || n >= maxStages {
		return "", 0, false, false
	}
	return rest[:i], n, rollback, true
}

// Effect is something to do once a transition is stored: start a stage's
// task (or its rollback task), announce a stage, ask for approval, release a
// cancelled task.
type Effect struct {
	Kind     string // "task", "stage", "approval", "release"
	Stage    int
	Rollback bool
}

// ConflictError is an action the pipeline's state refuses (409).
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }
