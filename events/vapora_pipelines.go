package events

import "fmt"

// Vapora's pipeline subjects (spec seed, Vapora: Pipeline Events).
const (
	// SubjectPipelineStage announces a stage's new status.
	SubjectPipelineStage = "vapora.pipelines.stage"
	// SubjectPipelineApproval asks the stage's approvers for a decision.
	SubjectPipelineApproval = "vapora.pipelines.approval"
)

// StageStatuses are a pipeline stage's statuses.
var StageStatuses = []string{"Pending", "Running", "AwaitingApproval", "Succeeded", "Failed", "Cancelled", "RolledBack"}

// StageEvent is published on vapora.pipelines.stage.
type StageEvent struct {
	ID         string `json:"id"`
	PipelineID string `json:"pipeline_id"`
	Stage      string `json:"stage"`
	Status     string `json:"status"`
}

// Validate reports the first field that is missing or malformed.
func (e StageEvent) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"pipeline_id", e.PipelineID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	if e.Stage == "" {
		return fmt.Errorf("stage: required")
	}
	return OneOf("status", e.Status, StageStatuses)
}

// ApprovalRequest is published on vapora.pipelines.approval.
type ApprovalRequest struct {
	ID         string `json:"id"`
	PipelineID string `json:"pipeline_id"`
	Stage      string `json:"stage"`
	Requester  string `json:"requester"`
	// Approvers is the group (a scope) whose members may decide.
	Approvers string `json:"approvers,omitempty"`
}

// Validate reports the first field that is missing or malformed.
func (e ApprovalRequest) Validate() error {
	for _, c := range []struct{ field, v string }{{"id", e.ID}, {"pipeline_id", e.PipelineID}} {
		if err := checkID(c.field, c.v); err != nil {
			return err
		}
	}
	if e.Stage == "" || e.Requester == "" {
		return fmt.Errorf("stage, requester: required")
	}
	return nil
}
