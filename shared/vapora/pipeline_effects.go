package vapora

import (
	"context"
	"errors"
	"fmt"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// run carries out a stored transition's effects, in order.
func (e *Pipelines) run(ctx context.Context, p Pipeline, effects []Effect) error {
	for _, ef := range effects {
		var err error
		switch ef.Kind {
		case "task":
			err = e.startTask(ctx, p, ef.Stage, ef.Rollback)
		case "stage":
			s := p.Stages[ef.Stage]
			ev := events.StageEvent{ID: fmt.Sprintf("stg-%s-%d-%s", p.ID, ef.Stage, s.Status), PipelineID: p.ID, Stage: s.Name, Status: s.Status}
			_, err = e.bus.Publish(ctx, events.SubjectPipelineStage, ev.ID, ev, nil)
		case "approval":
			s := p.Stages[ef.Stage]
			ev := events.ApprovalRequest{ID: fmt.Sprintf("apr-%s-%d", p.ID, ef.Stage), PipelineID: p.ID, Stage: s.Name,
				Requester: p.Requester, Approvers: s.Approval.Approvers}
			_, err = e.bus.Publish(ctx, events.SubjectPipelineApproval, ev.ID, ev, nil)
		case "release":
			err = e.release(ctx, p, ef.Stage)
		}
		if err != nil {
			return fmt.Errorf("pipeline %s stage %d: %s: %w", p.ID, ef.Stage, ef.Kind, err)
		}
	}
	return nil
}

// startTask ensures stage i's task (or its rollback task) exists, then gives
// it to the best Ready agent of its role with room for it. With none, the
// task waits in Todo and the sweep tries again.
func (e *Pipelines) startTask(ctx context.Context, p Pipeline, i int, rollback bool) error {
	s := p.Stages[i]
	role, taskType, title := s.Role, s.TaskType, s.Title
	if rollback {
		role, taskType, title = s.Rollback.Role, s.Rollback.TaskType, s.Rollback.Title
		if title == "" {
			title = p.Name + ": roll back " + s.Name
		}
	}
	t, err := e.store.EnsureTask(ctx, Task{ID: stageTaskID(p.ID, i, rollback), ProjectID: p.ProjectID, Scope: p.Scope,
		Title: title, Status: "Todo", Priority: "High", Tags: []string{taskType}})
	if err != nil {
		return err
	}
	if t.AssignedAgent != nil || t.Status != "Todo" {
		return nil // given to an agent before
	}
	c, reason, err := newPlanner(e.store).pick(ctx, role, taskType, 1.0, "")
	if err != nil {
		return err
	}
	if reason != "" {
		obs.Log(ctx).Warn("pipeline stage waits for an agent", "pipeline_id", p.ID, "stage", s.Name, "reason", reason)
		return nil
	}
	_, err = e.agents.assignTo(ctx, t, c, taskType, true)
	if errors.Is(err, errStale) {
		return nil // another delivery or the sweep assigned it
	}
	return err
}

// release takes a cancelled stage's task off its agent.
func (e *Pipelines) release(ctx context.Context, p Pipeline, i int) error {
	t, err := e.store.Task(ctx, stageTaskID(p.ID, i, false))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	agent := t.AssignedAgent
	released, err := e.store.ReleaseTask(ctx, t)
	if err != nil || !released {
		return err
	}
	ev := events.TaskReleased{ID: "rel-" + t.ID + "-cancel", TaskID: t.ID, AgentID: *agent, Reason: "pipeline " + p.ID + " cancelled"}
	_, err = e.bus.Publish(ctx, events.SubjectTaskReleased, ev.ID, ev, nil)
	return err
}
