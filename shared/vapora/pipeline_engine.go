package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// Pipelines runs pipelines: each change is a transition (pipeline_flow.go)
// stored by one conditional write, then its effects. Effects are idempotent
// (stage tasks have fixed ids, events fixed message ids), and the task a
// pipeline waits on is ensured again by every redelivery and by the sweep,
// so an instance that dies between the write and its effects loses nothing
// that makes the pipeline move.
type Pipelines struct {
	store  *Store
	agents *Agents
	bus    *bus.Bus
}

// NewPipelines returns the pipeline engine.
func NewPipelines(store *Store, agents *Agents, b *bus.Bus) *Pipelines {
	return &Pipelines{store: store, agents: agents, bus: b}
}

// Agents is the agent logic the engine assigns stage tasks with.
func (e *Pipelines) Agents() *Agents { return e.agents }

// Store is the engine's store.
func (e *Pipelines) Store() *Store { return e.store }

// applyTries bounds the reads of a pipeline that keeps changing under a transition.
const applyTries = 16

// apply runs a transition on pipeline id until it is stored at the version
// it read; changed is false when it changed nothing (a duplicate). The
// write also sheds the loads of the tasks in release, and creates the task
// the transition starts, assigned to the best agent with room (see startIn).
func (e *Pipelines) apply(ctx context.Context, id string, release []Hold, f func(*Pipeline) ([]Effect, error)) (p Pipeline, changed bool, err error) {
	pl := stagePlanner(e.store, release)
	inWrite := true // create the task the transition starts in its write
	for range applyTries {
		if p, err = e.store.Pipeline(ctx, id); err != nil {
			return p, false, err
		}
		before, _ := json.Marshal(p)
		next := p
		next.Stages = append([]Stage(nil), p.Stages...)
		effects, err := f(&next)
		if err != nil {
			return p, false, err
		}
		if after, _ := json.Marshal(next); string(after) == string(before) {
			return p, false, nil
		}
		next.UpdatedAt = e.store.now()
		tr := Transition{Outbox: announcements(next, next.Version+1, effects), Release: release}
		if inWrite {
			if tr.Start, err = e.startIn(ctx, pl, next, effects); err != nil {
				return p, false, err
			}
		}
		tr.Outbox = append(tr.Outbox, assignmentMsgs(next, next.Version+1, len(tr.Outbox), tr.Start)...)
		saved, err := e.store.SaveTransition(ctx, next, tr)
		switch {
		case errors.Is(err, errStale):
			continue // another instance moved it first: decide again on what it left
		case errors.Is(err, errAgentFull):
			pl.full(tr.Start.Agent) // another instance filled it first: the next best
			continue
		case isDuplicate(err) && tr.Start != nil:
			inWrite = false // the task exists: run looks at it (startTask)
			continue
		case err != nil:
			return p, false, err
		}
		err = e.run(ctx, saved, effects, tr.Outbox, tr.Start)
		for _, h := range release {
			if err == nil && (tr.Start == nil || tr.Start.Agent != h.Agent) {
				// the write freed the agent's room: a stage waiting for its role takes it
				err = e.Offer(ctx, h.Agent)
			}
		}
		return saved, true, err
	}
	return p, false, fmt.Errorf("pipeline %s: %w", id, errStale)
}

// Create stores a new pipeline and starts its first stage.
func (e *Pipelines) Create(ctx context.Context, project Project, name, requester string, stages []Stage) (Pipeline, error) {
	p, effects := newPipeline(newID("pipe"), project.ID, project.Scope, name, requester, stages, e.store.now())
	outbox := announcements(p, 1, effects)
	saved, err := e.store.CreatePipeline(ctx, p, outbox)
	if err != nil {
		return Pipeline{}, err
	}
	return saved, e.run(ctx, saved, effects, outbox, nil)
}

// OnResult moves the pipeline a stage task belongs to; other tasks' results
// are not the pipelines' business.
func (e *Pipelines) OnResult(ctx context.Context, d bus.Delivery, r events.TaskResult) error {
	id, stage, rollback, ok := ParseStageTask(r.TaskID)
	if !ok {
		return nil
	}
	now := e.store.now()
	// The agent is done with the task: the hand-over sheds its share of the
	// agent's load (once, with vapora-on-task-result) so that the next stage
	// may go to the same agent at once.
	var release []Hold
	if r.AgentID != "" {
		release = []Hold{{TaskID: r.TaskID, Agent: r.AgentID}}
	}
	p, changed, err := e.apply(ctx, id, release, func(p *Pipeline) ([]Effect, error) {
		return p.onResult(stage, rollback, r.Status == "success", r.AgentID, now), nil
	})
	if errors.Is(err, ErrNotFound) {
		return bus.Permanent(fmt.Errorf("pipeline %s does not exist", id))
	}
	if err != nil || changed {
		return err
	}
	obs.Log(ctx).Info("pipeline result already applied", "pipeline_id", id, "task_id", r.TaskID, "msg_id", d.MsgID)
	// a redelivery after a crash: publish what the first delivery left in the
	// outbox, and redo the task it may have left unstarted
	left, err := e.store.Outbox(ctx, id, time.Time{}, sweepBatch)
	if err != nil {
		return err
	}
	return errors.Join(e.publish(ctx, left), e.Reconcile(ctx, p))
}

// Decide applies an approver's decision.
func (e *Pipelines) Decide(ctx context.Context, id, stage string, approve bool, approver, comment string) (Pipeline, error) {
	now := e.store.now()
	p, _, err := e.apply(ctx, id, nil, func(p *Pipeline) ([]Effect, error) { return p.decide(stage, approve, approver, comment, now) })
	return p, err
}

// Cancel stops a pipeline.
func (e *Pipelines) Cancel(ctx context.Context, id string) (Pipeline, error) {
	now := e.store.now()
	p, _, err := e.apply(ctx, id, nil, func(p *Pipeline) ([]Effect, error) { return p.cancel(now) })
	return p, err
}

// sweepBatch bounds the pipelines one sweep looks at.
const sweepBatch = 500

// outboxGrace is how old an outbox message must be before the sweep
// publishes it: younger ones are being published by the instance that wrote them.
const outboxGrace = 10 * time.Second

// Sweep publishes the events that instances which died after storing a
// transition left in the outbox, fails the gates whose time ran out, then
// ensures every active pipeline's current task exists and has an agent (one
// may have had none free when its stage started).
func (e *Pipelines) Sweep(ctx context.Context) (expired, active int, err error) {
	var errs []error
	left, err := e.store.Outbox(ctx, "", e.store.now().Add(-outboxGrace), sweepBatch)
	if err == nil {
		err = e.publish(ctx, left)
	}
	errs = append(errs, err)
	ids, err := e.store.DuePipelines(ctx, e.store.now(), sweepBatch)
	if err != nil {
		return 0, 0, errors.Join(append(errs, err)...)
	}
	for _, id := range ids {
		now := e.store.now()
		_, changed, err := e.apply(ctx, id, nil, func(p *Pipeline) ([]Effect, error) { return p.expire(now), nil })
		if changed {
			expired++
		}
		errs = append(errs, err)
	}
	list, err := e.store.ActivePipelines(ctx, sweepBatch)
	if err != nil {
		return expired, 0, errors.Join(append(errs, err)...)
	}
	for _, p := range list {
		errs = append(errs, e.Reconcile(ctx, p))
	}
	return expired, len(list), errors.Join(errs...)
}

// waitsOn says whether stage i's task (or its rollback task) is the one the
// pipeline waits on now.
func (p Pipeline) waitsOn(i int, rollback bool) bool {
	if i < 0 || i >= len(p.Stages) {
		return false
	}
	s := p.Stages[i]
	if rollback {
		return p.Status == PipelineRollingBack && s.Rollback != nil && s.RollbackStatus != nil && *s.RollbackStatus == StageRunning
	}
	return p.Status == PipelineRunning && s.Status == StageRunning
}

// Reconcile ensures the task an active pipeline waits on exists and is assigned.
func (e *Pipelines) Reconcile(ctx context.Context, p Pipeline) error {
	for i, s := range p.Stages {
		switch {
		case p.Status == PipelineRunning && s.Status == StageRunning:
			return e.run(ctx, p, []Effect{{Kind: "task", Stage: i}}, nil, nil)
		case p.Status == PipelineRollingBack && s.RollbackStatus != nil && *s.RollbackStatus == StageRunning:
			return e.run(ctx, p, []Effect{{Kind: "task", Stage: i, Rollback: true}}, nil, nil)
		}
	}
	return nil
}
