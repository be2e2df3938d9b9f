package vapora

import (
	"fmt"
	"time"
)

// The transitions below change a pipeline read from the store and say what
// to do once the change is stored. They are pure: the store writes the
// result only if the pipeline is still at the version read, so each one
// happens once whatever runs beside it. A transition that finds nothing to
// do (a duplicated or late event) returns no effects and changes nothing.

// newPipeline lays out a pipeline and starts its first stage.
func newPipeline(id, project, scope, name, requester string, stages []Stage, now time.Time) (Pipeline, []Effect) {
	p := Pipeline{ID: id, ProjectID: project, Scope: scope, Name: name, Status: PipelineRunning, Requester: requester,
		Stages: make([]Stage, len(stages)), CreatedAt: now, UpdatedAt: now}
	for i, s := range stages {
		s.Status = StagePending
		if s.Title == "" {
			s.Title = name + ": " + s.Name
		}
		p.Stages[i] = s
	}
	return p, p.start(0, now)
}

// start runs stage i, or ends the pipeline when there is none.
func (p *Pipeline) start(i int, now time.Time) []Effect {
	if i >= len(p.Stages) {
		p.Status = PipelineSucceeded
		return nil
	}
	s := &p.Stages[i]
	id := stageTaskID(p.ID, i, false)
	s.Status, s.TaskID, s.StartedAt = StageRunning, &id, &now
	return []Effect{{Kind: "stage", Stage: i}, {Kind: "task", Stage: i}}
}

// finish ends stage i with status.
func (p *Pipeline) finish(i int, status string, now time.Time) Effect {
	p.Stages[i].Status, p.Stages[i].FinishedAt = status, &now
	p.Stages[i].ApprovalDue = nil
	return Effect{Kind: "stage", Stage: i}
}

// succeed ends stage i as Succeeded and starts the next one.
func (p *Pipeline) succeed(i int, now time.Time) []Effect {
	return append([]Effect{p.finish(i, StageSucceeded, now)}, p.start(i+1, now)...)
}

// fail ends stage i as Failed and rolls back the stages that succeeded.
func (p *Pipeline) fail(i int, now time.Time) []Effect {
	name := p.Stages[i].Name
	p.FailedStage = &name
	return append([]Effect{p.finish(i, StageFailed, now)}, p.rollbackFrom(i-1, now)...)
}

// rollbackFrom starts the rollback task of the last succeeded stage at or
// before i that has one; with none left the pipeline is RolledBack (Failed
// when there was nothing to roll back).
func (p *Pipeline) rollbackFrom(i int, now time.Time) []Effect {
	for ; i >= 0; i-- {
		s := &p.Stages[i]
		if s.Status != StageSucceeded || s.Rollback == nil {
			continue
		}
		id, running := stageTaskID(p.ID, i, true), StageRunning
		s.RollbackTaskID, s.RollbackStatus = &id, &running
		p.Status = PipelineRollingBack
		return []Effect{{Kind: "task", Stage: i, Rollback: true}}
	}
	if p.Status == PipelineRollingBack {
		p.Status = PipelineRolledBack
	} else {
		p.Status = PipelineFailed
	}
	return nil
}

// onResult applies a stage task's result.
func (p *Pipeline) onResult(i int, rollback, success bool, agent string, now time.Time) []Effect {
	if i >= len(p.Stages) {
		return nil
	}
	s := &p.Stages[i]
	if rollback {
		if p.Status != PipelineRollingBack || s.RollbackStatus == nil || *s.RollbackStatus != StageRunning {
			return nil
		}
		if !success {
			failed := StageFailed
			s.RollbackStatus = &failed
			name := s.Name
			p.FailedStage, p.Status = &name, PipelineRollbackFailed
			return nil
		}
		done := StageSucceeded
		s.RollbackStatus = &done
		return append([]Effect{p.finish(i, StageRolledBack, now)}, p.rollbackFrom(i-1, now)...)
	}
	if p.Status != PipelineRunning || s.Status != StageRunning {
		return nil // a duplicate, or a result after a cancel
	}
	if agent != "" {
		s.AgentID = &agent
	}
	if !success {
		return p.fail(i, now)
	}
	if g := s.Approval; g != nil && g.Required {
		timeout, _ := gateTimeout(g)
		due := now.Add(timeout)
		s.Status, s.ApprovalDue = StageAwaitingApproval, &due
		return []Effect{{Kind: "stage", Stage: i}, {Kind: "approval", Stage: i}}
	}
	return p.succeed(i, now)
}

// decide applies an approver's decision on the stage named stage.
func (p *Pipeline) decide(stage string, approve bool, approver, comment string, now time.Time) ([]Effect, error) {
	i := p.stageIndex(stage)
	if i < 0 {
		return nil, &StageError{Stage: stage, Msg: "no such stage in this pipeline"}
	}
	s := &p.Stages[i]
	if p.Status != PipelineRunning || s.Status != StageAwaitingApproval {
		return nil, &ConflictError{Msg: fmt.Sprintf("stage %q is %s, not awaiting approval (pipeline %s)", stage, s.Status, p.Status)}
	}
	decision := "reject"
	if approve {
		decision = "approve"
	}
	s.Approver, s.Decision = &approver, &decision
	if comment != "" {
		s.Comment = &comment
	}
	if approve {
		return p.succeed(i, now), nil
	}
	return p.fail(i, now), nil
}

// expire fails every gate whose time ran out by now.
func (p *Pipeline) expire(now time.Time) []Effect {
	if p.Status != PipelineRunning {
		return nil
	}
	for i, s := range p.Stages {
		if s.Status == StageAwaitingApproval && s.ApprovalDue != nil && !now.Before(*s.ApprovalDue) {
			msg := "approval timed out"
			p.Stages[i].Comment = &msg
			return p.fail(i, now)
		}
	}
	return nil
}

// cancel stops the pipeline: no stage starts any more, the running task is released.
func (p *Pipeline) cancel(now time.Time) ([]Effect, error) {
	if p.Status != PipelineRunning {
		return nil, &ConflictError{Msg: fmt.Sprintf("pipeline is %s: only a Running pipeline can be cancelled", p.Status)}
	}
	p.Status = PipelineCancelled
	var out []Effect
	for i, s := range p.Stages {
		switch s.Status {
		case StageRunning:
			out = append(out, Effect{Kind: "release", Stage: i})
			fallthrough
		case StagePending, StageAwaitingApproval:
			out = append(out, p.finish(i, StageCancelled, now))
		}
	}
	return out, nil
}

func (p *Pipeline) stageIndex(name string) int {
	for i, s := range p.Stages {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// nextDue is the earliest approval deadline of a Running pipeline, which the
// timeout sweep looks for.
func (p *Pipeline) nextDue() *time.Time {
	if p.Status != PipelineRunning {
		return nil
	}
	var due *time.Time
	for _, s := range p.Stages {
		if s.Status == StageAwaitingApproval && s.ApprovalDue != nil && (due == nil || s.ApprovalDue.Before(*due)) {
			due = s.ApprovalDue
		}
	}
	return due
}
