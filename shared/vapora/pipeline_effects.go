package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// announcements are the events a transition to p announces, in order, for
// the outbox: a StageEvent per "stage" effect, an ApprovalRequest per
// "approval". version is the one p is stored at.
func announcements(p Pipeline, version int, effects []Effect) []OutboxMsg {
	var out []OutboxMsg
	for i, ef := range effects {
		s := p.Stages[ef.Stage]
		var subject string
		var ev any
		switch ef.Kind {
		case "stage":
			subject = events.SubjectPipelineStage
			ev = events.StageEvent{ID: fmt.Sprintf("stg-%s-%d-%s", p.ID, ef.Stage, s.Status), PipelineID: p.ID, Stage: s.Name, Status: s.Status}
		case "approval":
			subject = events.SubjectPipelineApproval
			ev = events.ApprovalRequest{ID: fmt.Sprintf("apr-%s-%d", p.ID, ef.Stage), PipelineID: p.ID, Stage: s.Name,
				Requester: p.Requester, Approvers: s.Approval.Approvers}
		default:
			continue
		}
		raw, _ := json.Marshal(ev)
		payload := map[string]any{}
		_ = json.Unmarshal(raw, &payload)
		out = append(out, OutboxMsg{ID: payload["id"].(string), Pipeline: p.ID, Seq: version*100 + i, Subject: subject, Payload: payload})
	}
	return out
}

// publish sends outbox messages in order and clears them from the outbox.
// Publishing twice is harmless: each event has a fixed message id.
func (e *Pipelines) publish(ctx context.Context, msgs []OutboxMsg) error {
	if err := e.send(ctx, msgs); err != nil {
		return err
	}
	return e.store.Published(ctx, msgs)
}

// send publishes outbox messages in order, leaving them in the outbox.
func (e *Pipelines) send(ctx context.Context, msgs []OutboxMsg) error {
	for _, m := range msgs {
		if _, err := e.bus.Publish(ctx, m.Subject, m.ID, m.Payload, nil); err != nil {
			return fmt.Errorf("pipeline %s: publish %s: %w", m.Pipeline, m.ID, err)
		}
	}
	return nil
}

// run carries out a stored transition's effects: the events it wrote to
// the outbox first, then the rest in order.
//
// The outbox is cleared last: the next stage's task is not kept waiting for
// it (what is still there when this instance dies is published again by a
// redelivery or the sweep, under the same message ids).
func (e *Pipelines) run(ctx context.Context, p Pipeline, effects []Effect, outbox []OutboxMsg) error {
	if err := e.send(ctx, outbox); err != nil {
		return err
	}
	for _, ef := range effects {
		var err error
		switch ef.Kind {
		case "task":
			err = e.startTask(ctx, p, ef.Stage, ef.Rollback)
		case "release":
			err = e.release(ctx, p, ef.Stage)
		}
		if err != nil {
			return fmt.Errorf("pipeline %s stage %d: %s: %w", p.ID, ef.Stage, ef.Kind, err)
		}
	}
	return e.store.Published(ctx, outbox)
}

// startTask ensures stage i's task (or its rollback task) exists, then gives
// it to the best Ready agent of its role with room for it. With none, the
// task waits in Todo: the next agent of the role that frees up takes it
// (Offer), or else the sweep.
func (e *Pipelines) startTask(ctx context.Context, p Pipeline, i int, rollback bool) error {
	s := p.Stages[i]
	role, taskType, title := s.Role, s.TaskType, s.Title
	if rollback {
		role, taskType, title = s.Rollback.Role, s.Rollback.TaskType, s.Rollback.Title
		if title == "" {
			title = p.Name + ": roll back " + s.Name
		}
	}
	t := Task{ID: stageTaskID(p.ID, i, rollback), ProjectID: p.ProjectID, Scope: p.Scope,
		Title: title, Status: "Todo", Priority: "High", Tags: []string{taskType}}
	// The common case in one write: the task is new and an agent has room.
	if done, err := e.createAssigned(ctx, t, role, taskType); err != nil || done {
		return err
	}
	t, err := e.store.EnsureTask(ctx, t)
	if err != nil {
		return err
	}
	if t.AssignedAgent != nil || t.Status != "Todo" {
		return nil // given to an agent before
	}
	assigned, reason, err := e.assign(ctx, newPlanner(e.store), t, role, taskType)
	if err != nil || assigned {
		return err
	}
	// Record the wait, then look once more: an agent that freed up between
	// the look and the record has offered itself before the record existed.
	if err := e.store.Wait(ctx, StageWait{TaskID: t.ID, Pipeline: p.ID, Stage: i, Rollback: rollback, Role: role}); err != nil {
		return err
	}
	if assigned, reason, err = e.assign(ctx, newPlanner(e.store), t, role, taskType); err != nil {
		return err
	}
	if assigned {
		return e.store.Waited(ctx, t.ID)
	}
	obs.Log(ctx).Warn("pipeline stage waits for an agent", "pipeline_id", p.ID, "stage", s.Name, "reason", reason)
	return nil
}

// createAssigned creates stage task t already assigned to the best free
// agent of role and publishes the assignment; false when there is no free
// agent or the task exists (a redelivery: startTask then looks at it).
func (e *Pipelines) createAssigned(ctx context.Context, t Task, role, taskType string) (bool, error) {
	c, reason, err := newPlanner(e.store).pick(ctx, role, taskType, 1.0, "")
	if err != nil || reason != "" {
		return false, err
	}
	created, err := e.store.CreateAssignedTask(ctx, t, c.Agent.ID, taskType)
	if isDuplicate(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, e.agents.announceAssignment(ctx, created, c.Agent.ID, taskType)
}

// assign gives a Todo stage task to the best free agent of role; false
// (with the reason) when none has room. pl counts the load it handed out.
func (e *Pipelines) assign(ctx context.Context, pl *planner, t Task, role, taskType string) (bool, string, error) {
	c, reason, err := pl.pick(ctx, role, taskType, 1.0, "")
	if err != nil || reason != "" {
		return false, reason, err
	}
	err = e.agents.assignStage(ctx, t, c, taskType)
	if errors.Is(err, errStale) {
		return true, "", nil // another delivery, an offer or the sweep assigned it
	}
	return err == nil, "", err
}

// offerBatch bounds the waiting stages one freed agent looks at.
const offerBatch = 8

// Offer starts stage tasks that wait for an agent of the role of agentID,
// oldest first, while the role has room: called as soon as that agent frees
// up (its result applied), so a waiting stage does not wait for the sweep.
func (e *Pipelines) Offer(ctx context.Context, agentID string) error {
	ag, err := e.store.Agent(ctx, agentID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	waits, err := e.store.Waiting(ctx, ag.Role, offerBatch)
	if err != nil {
		return err
	}
	pl := newPlanner(e.store) // one, so that it counts what this offer hands out
	for _, w := range waits {
		p, err := e.store.Pipeline(ctx, w.Pipeline)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		t, terr := e.store.Task(ctx, w.TaskID)
		if terr != nil && !errors.Is(terr, ErrNotFound) {
			return terr
		}
		if err != nil || terr != nil || !p.waitsOn(w.Stage, w.Rollback) || t.AssignedAgent != nil || t.Status != "Todo" {
			if err := e.store.Waited(ctx, w.TaskID); err != nil {
				return err
			}
			continue
		}
		taskType := p.Stages[w.Stage].TaskType
		if w.Rollback {
			taskType = p.Stages[w.Stage].Rollback.TaskType
		}
		assigned, _, err := e.assign(ctx, pl, t, w.Role, taskType)
		if err != nil || !assigned {
			return err // no room left in the role
		}
		if err := e.store.Waited(ctx, w.TaskID); err != nil {
			return err
		}
	}
	return nil
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
	if _, err = e.bus.Publish(ctx, events.SubjectTaskReleased, ev.ID, ev, nil); err != nil {
		return err
	}
	return e.Offer(ctx, *agent) // the agent it frees takes a stage waiting for its role
}
