package events

import "fmt"

// Provisioning subjects. The orchestrator advances a workflow one step per
// message: submitted, cancelled and resumed workflows and finished tasks make
// it schedule what may run next; a ready task is one step; a rollback deletes
// what the workflow made, in reverse topological order. Each status a
// workflow reaches is announced on provisioning.workflows.<status in lower case>.
const (
	SubjectWorkflowSubmitted = "provisioning.workflows.submitted"
	SubjectWorkflowCancelled = "provisioning.workflows.cancelled"
	SubjectWorkflowResumed   = "provisioning.workflows.resumed"
	SubjectWorkflowRollback  = "provisioning.workflows.rollback"
	SubjectTaskReady         = "provisioning.tasks.ready"
	SubjectTaskDone          = "provisioning.tasks.done"
	// SubjectWorkflowStatusPrefix + lower-case status ("succeeded", "rolledback", ...).
	SubjectWorkflowStatusPrefix = "provisioning.workflows.status."
)

// WorkflowEvent is a change of a workflow as a whole.
type WorkflowEvent struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	// Run counts the workflow's runs: 1, then one more for each resume.
	Run    int    `json:"run"`
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Validate reports the first field that is missing or malformed.
func (e WorkflowEvent) Validate() error {
	switch {
	case !idPattern.MatchString(e.ID):
		return fmt.Errorf("id %q: want 1–128 letters, digits or _.:- starting with a letter or digit", e.ID)
	case !idPattern.MatchString(e.WorkflowID):
		return fmt.Errorf("workflow_id %q: malformed", e.WorkflowID)
	case e.Run < 1:
		return fmt.Errorf("run: %d, want ≥ 1", e.Run)
	}
	return nil
}

// TaskEvent is a task of a workflow run that is ready to run or done.
type TaskEvent struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	TaskID     string `json:"task_id"`
	Run        int    `json:"run"`
}

// Validate reports the first field that is missing or malformed.
func (e TaskEvent) Validate() error {
	if err := (WorkflowEvent{ID: e.ID, WorkflowID: e.WorkflowID, Run: e.Run}).Validate(); err != nil {
		return err
	}
	if !namePattern.MatchString(e.TaskID) && !idPattern.MatchString(e.TaskID) {
		return fmt.Errorf("task_id %q: malformed", e.TaskID)
	}
	return nil
}
