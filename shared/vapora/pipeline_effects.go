package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
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

// assignmentMsgs is the outbox message that gives start's task to its
// agent (vapora.tasks.assign), after the transition's n events; its message
// id is fixed per task and agent, so publishing it again is a duplicate.
func assignmentMsgs(p Pipeline, version, n int, start *StageStart) []OutboxMsg {
	if start == nil {
		return nil
	}
	ev := assignmentEvent(stageAssignmentID(start.Task.ID, start.Agent), start.Task, start.Agent, start.TaskType)
	raw, _ := json.Marshal(ev)
	payload := map[string]any{}
	_ = json.Unmarshal(raw, &payload)
	return []OutboxMsg{{ID: ev.ID, Pipeline: p.ID, Seq: version*100 + n, Subject: events.SubjectTaskAssign, Payload: payload}}
}

// stageAssignmentID is the message id of a stage task's assignment to agent.
func stageAssignmentID(taskID, agent string) string { return "asg-" + taskID + "-" + agent }

// run carries out a stored transition's effects: the events it wrote to
// the outbox first (with the assignment of the task the write created,
// started), then the rest in order.
//
// The outbox is cleared last: the next stage's task is not kept waiting for
// it (what is still there when this instance dies is published again by a
// redelivery or the sweep, under the same message ids).
func (e *Pipelines) run(ctx context.Context, p Pipeline, effects []Effect, outbox []OutboxMsg, started *StageStart) error {
	if err := e.send(ctx, outbox); err != nil {
		return err
	}
	for _, ef := range effects {
		var err error
		switch {
		case ef.Kind == "task" && started != nil && started.Task.ID == stageTaskID(p.ID, ef.Stage, ef.Rollback):
			// created and assigned with the transition
		case ef.Kind == "task":
			err = e.startTask(ctx, p, ef.Stage, ef.Rollback)
		case ef.Kind == "release":
			err = e.release(ctx, p, ef.Stage)
		}
		if err != nil {
			return fmt.Errorf("pipeline %s stage %d: %s: %w", p.ID, ef.Stage, ef.Kind, err)
		}
	}
	return e.store.Published(ctx, outbox)
}

// stageTask is the task stage i of p runs (or its rollback task), with the
// role and the task type it is for.
func stageTask(p Pipeline, i int, rollback bool) (t Task, role, taskType string) {
	s := p.Stages[i]
	role, taskType, title := s.Role, s.TaskType, s.Title
	if rollback {
		role, taskType, title = s.Rollback.Role, s.Rollback.TaskType, s.Rollback.Title
		if title == "" {
			title = p.Name + ": roll back " + s.Name
		}
	}
	t = Task{ID: stageTaskID(p.ID, i, rollback), ProjectID: p.ProjectID, Scope: p.Scope,
		Title: title, Status: "Todo", Priority: "High", Tags: []string{taskType}}
	return t, role, taskType
}

// startIn chooses the agent for the task a transition starts, to create it
// assigned in the transition's own write: nil when the transition starts no
// task or no agent of its role has room (run then starts it, see startTask).
func (e *Pipelines) startIn(ctx context.Context, pl *planner, p Pipeline, effects []Effect) (*StageStart, error) {
	for _, ef := range effects {
		if ef.Kind != "task" {
			continue
		}
		t, role, taskType := stageTask(p, ef.Stage, ef.Rollback)
		c, reason, err := pl.pick(ctx, role, taskType, 1.0, "")
		if err != nil || reason != "" {
			return nil, err
		}
		return &StageStart{Task: t, Agent: c.Agent.ID, TaskType: taskType}, nil
	}
	return nil, nil
}

// startTask ensures stage i's task (or its rollback task) exists, then gives
// it to the best Ready agent of its role with room for it. With none, the
// task waits in Todo: the next agent of the role that frees up takes it
// (Offer), or else the sweep.
func (e *Pipelines) startTask(ctx context.Context, p Pipeline, i int, rollback bool) error {
	t, role, taskType := stageTask(p, i, rollback)
	// The common case in one write: the task is new and an agent has room.
	if done, err := e.createAssigned(ctx, p, t, role, taskType); err != nil || done {
		return err
	}
	t, err := e.store.EnsureTask(ctx, t)
	if err != nil {
		return err
	}
	if t.AssignedAgent != nil || t.Status != "Todo" {
		return e.reannounce(ctx, t, taskType)
	}
	assigned, reason, err := e.assign(ctx, stagePlanner(e.store, nil), t, role, taskType)
	if err != nil || assigned {
		return err
	}
	// Record the wait, then look once more: an agent that freed up between
	// the look and the record has offered itself before the record existed.
	if err := e.store.Wait(ctx, StageWait{TaskID: t.ID, Pipeline: p.ID, Stage: i, Rollback: rollback, Role: role}); err != nil {
		return err
	}
	if assigned, reason, err = e.assign(ctx, stagePlanner(e.store, nil), t, role, taskType); err != nil {
		return err
	}
	if assigned {
		return e.store.Waited(ctx, t.ID)
	}
	obs.Log(ctx).Warn("pipeline stage waits for an agent", "pipeline_id", p.ID, "stage", p.Stages[i].Name, "reason", reason)
	return nil
}

// reannounce publishes again the assignment of a stage task that is still
// Todo with an agent some time after it was assigned: the instance that
// assigned it may have died before announcing it. Its message id is the
// first announcement's, so an agent that had it gets no second one.
func (e *Pipelines) reannounce(ctx context.Context, t Task, taskType string) error {
	if t.Status != "Todo" || t.AssignedAgent == nil || e.store.now().Sub(t.UpdatedAt) < outboxGrace {
		return nil
	}
	ev := assignmentEvent(stageAssignmentID(t.ID, *t.AssignedAgent), t, *t.AssignedAgent, taskType)
	_, err := e.bus.Publish(ctx, events.SubjectTaskAssign, ev.ID, ev, nil)
	return err
}

// agentTries bounds the agents one stage task is offered to when others
// fill them first.
const agentTries = 4

// createAssigned creates stage task t already assigned to the best free
// agent of role, which takes on its load in the same write, and publishes
// the assignment (through the outbox); false when no agent has room or the
// task exists (a redelivery: startTask then looks at it).
func (e *Pipelines) createAssigned(ctx context.Context, p Pipeline, t Task, role, taskType string) (bool, error) {
	pl := stagePlanner(e.store, nil)
	for range agentTries {
		c, reason, err := pl.pick(ctx, role, taskType, 1.0, "")
		if err != nil || reason != "" {
			return false, err
		}
		st := &StageStart{Task: t, Agent: c.Agent.ID, TaskType: taskType}
		outbox := assignmentMsgs(p, p.Version, 50, st)
		err = e.store.CreateAssignedTask(ctx, *st, outbox)
		switch {
		case errors.Is(err, errAgentFull):
			pl.full(c.Agent.ID) // another instance filled it first: the next best
			continue
		case isDuplicate(err):
			return false, nil
		case err != nil:
			return false, err
		}
		return true, e.publish(ctx, outbox)
	}
	return false, nil
}

// assign gives a Todo stage task to the best free agent of role, which
// takes on its load in the same write; false (with the reason) when none
// has room. pl counts the load it handed out.
func (e *Pipelines) assign(ctx context.Context, pl *planner, t Task, role, taskType string) (bool, string, error) {
	for range agentTries {
		c, reason, err := pl.pick(ctx, role, taskType, 1.0, "")
		if err != nil || reason != "" {
			return false, reason, err
		}
		_, err = e.store.AssignStageTask(ctx, t, c.Agent.ID, taskType)
		switch {
		case errors.Is(err, errAgentFull):
			pl.full(c.Agent.ID) // another instance filled it first: the next best
			continue
		case errors.Is(err, errStale):
			return true, "", nil // another delivery, an offer or the sweep assigned it
		case err != nil:
			return false, "", err
		}
		ev := assignmentEvent(stageAssignmentID(t.ID, c.Agent.ID), t, c.Agent.ID, taskType)
		_, err = e.bus.Publish(ctx, events.SubjectTaskAssign, ev.ID, ev, nil)
		return err == nil, "", err
	}
	return false, "every agent with room was filled by others first", nil
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
	// As many stages as the agent has room for (others of its role offered
	// theirs when they freed up): none when it is full again already.
	room := int((1.0 - ag.CurrentLoad + 1e-9) / loadPerTask)
	if ag.Status != "Ready" || room <= 0 {
		return nil
	}
	waits, err := e.store.Waiting(ctx, ag.Role, offerBatch)
	if err != nil {
		return err
	}
	pl := stagePlanner(e.store, nil) // one, so that it counts what this offer hands out
	for _, w := range waits {
		p, err := e.store.Pipeline(ctx, w.Pipeline)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		t, terr := e.store.TaskRecord(ctx, w.TaskID)
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
		if room == 0 {
			return nil // the waits after this one are for later offers
		}
		assigned, _, err := e.assign(ctx, pl, t, w.Role, taskType)
		if err != nil || !assigned {
			return err // no room left in the role
		}
		room--
		if err := e.store.Waited(ctx, w.TaskID); err != nil {
			return err
		}
	}
	return nil
}

// OnHeartbeats records a batch of heartbeats (Agents.OnHeartbeats), then
// offers each agent they freed room on (Ready again, or at a lower load) to
// the stages waiting for its role, so that they need not wait for the
// sweep. An offer that fails is logged: the heartbeats are recorded, and the
// sweep offers the stage later.
func (e *Pipelines) OnHeartbeats(ctx context.Context, ds []bus.Delivery, es []events.Heartbeat) []error {
	errs, freed := e.agents.heartbeats(ctx, ds, es)
	for _, id := range freed {
		if err := e.Offer(ctx, id); err != nil {
			obs.Log(ctx).Warn("offer an agent a heartbeat freed to waiting stages", "agent_id", id, "err", err)
		}
	}
	return errs
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
