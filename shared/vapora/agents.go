package vapora

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// loadPerTask is how much of an agent one task takes: four at once fill it.
const loadPerTask = 0.25

// maxExecutions bounds the history an expertise profile is computed from.
const maxExecutions = 500

// Agents is the agent side of Vapora: assignment, results, heartbeats.
type Agents struct {
	store *Store
	bus   *bus.Bus
}

// NewAgents returns the agent logic over store, publishing on b.
func NewAgents(store *Store, b *bus.Bus) *Agents { return &Agents{store: store, bus: b} }

// AssignError is an assignment the board refuses (HTTP 409).
type AssignError struct{ Msg string }

func (e *AssignError) Error() string { return e.Msg }

// taskTypeOf is the type of work a task is: as assigned before, else its
// first tag, else "general".
func taskTypeOf(t Task, requested string) string {
	switch {
	case requested != "":
		return requested
	case t.TaskType != nil && *t.TaskType != "":
		return *t.TaskType
	case len(t.Tags) > 0:
		return t.Tags[0]
	}
	return "general"
}

// Assignment is the outcome of Assign.
type Assignment struct {
	Task     Task    `json:"task"`
	Agent    Agent   `json:"agent"`
	TaskType string  `json:"task_type"`
	Score    float64 `json:"score"`
}

// Assign gives task to agentID, or to the best Ready agent of role with
// room for it, and publishes vapora.tasks.assign for the agent to pick up.
// The agent takes on the task's load in the write that assigns it, only if
// it is Ready and stays within 1.0: an agent with no room is a 409 naming
// its status and load.
func (a *Agents) Assign(ctx context.Context, t Task, agentID, role, requestedType string) (Assignment, error) {
	if t.Status != "Todo" && t.Status != "Doing" {
		return Assignment{}, &AssignError{Msg: fmt.Sprintf("only Todo or Doing tasks can be assigned; this one is %s", t.Status)}
	}
	taskType := taskTypeOf(t, requestedType)
	if agentID == "" {
		res, reason, err := a.place(ctx, newPlanner(a.store), t, role, taskType, 1.0, "")
		if err == nil && reason != "" {
			err = &AssignError{Msg: reason}
		}
		return res, err
	}
	ag, err := a.store.Agent(ctx, agentID)
	if err != nil {
		return Assignment{}, err
	}
	if role != "" && ag.Role != role {
		return Assignment{}, &AssignError{Msg: fmt.Sprintf("agent %s is a %s, not a %s", ag.ID, ag.Role, role)}
	}
	if ag.Status == "Offline" || ag.Status == "Maintenance" {
		return Assignment{}, &AssignError{Msg: fmt.Sprintf("agent %s is %s", ag.ID, ag.Status)}
	}
	exp, err := a.store.expertiseFor(ctx, []string{ag.ID}, taskType)
	if err != nil {
		return Assignment{}, err
	}
	res, err := a.assignTo(ctx, t, Candidate{Agent: ag, Expertise: exp[ag.ID]}, taskType)
	if errors.Is(err, errAgentFull) {
		return Assignment{}, a.noRoom(ctx, ag.ID)
	}
	return res, err
}

// noRoom is the 409 of an assignment its agent had no room for, with the
// agent's status and load as they are now.
func (a *Agents) noRoom(ctx context.Context, agentID string) error {
	ag, err := a.store.Agent(ctx, agentID)
	if err != nil {
		return err
	}
	return &AssignError{Msg: fmt.Sprintf("agent %s has no room for the task: it is %s at load %.2f, a task adds %.2f and the cap is 1.0",
		ag.ID, ag.Status, ag.CurrentLoad, loadPerTask)}
}

// assignTo records the assignment, with the agent's share of load (see
// SetAssignment: errStale, errAgentFull), and publishes vapora.tasks.assign.
func (a *Agents) assignTo(ctx context.Context, t Task, chosen Candidate, taskType string) (Assignment, error) {
	updated, err := a.store.SetAssignment(ctx, t, chosen.Agent.ID, taskType)
	if err != nil {
		return Assignment{}, err
	}
	if err := a.announceAssignment(ctx, updated, chosen.Agent.ID, taskType); err != nil {
		return Assignment{}, err
	}
	return Assignment{Task: updated, Agent: chosen.Agent, TaskType: taskType, Score: chosen.score()}, nil
}

// announceAssignment publishes vapora.tasks.assign for the agent to pick up.
func (a *Agents) announceAssignment(ctx context.Context, t Task, agentID, taskType string) error {
	ev := assignmentEvent(newID("asg"), t, agentID, taskType)
	_, err := a.bus.Publish(ctx, events.SubjectTaskAssign, ev.ID, ev, nil)
	return err
}

// assignmentEvent is vapora.tasks.assign for t given to agentID.
func assignmentEvent(id string, t Task, agentID, taskType string) events.TaskAssignment {
	return events.TaskAssignment{ID: id, TaskID: t.ID, AgentID: agentID, TaskType: taskType,
		Payload: map[string]any{"project_id": t.ProjectID, "title": t.Title, "priority": t.Priority}}
}

// taskAndAgent loads what an event names; a missing one is a permanent
// failure (the event can never apply).
func (a *Agents) taskAndAgent(ctx context.Context, taskID, agentID string) (Task, Agent, error) {
	t, err := a.store.TaskRecord(ctx, taskID)
	if errors.Is(err, ErrNotFound) {
		return Task{}, Agent{}, bus.Permanent(fmt.Errorf("task %s does not exist", taskID))
	}
	if err != nil {
		return Task{}, Agent{}, err
	}
	ag, err := a.store.Agent(ctx, agentID)
	if errors.Is(err, ErrNotFound) {
		return Task{}, Agent{}, bus.Permanent(fmt.Errorf("agent %s is not registered", agentID))
	}
	return t, ag, err
}

// OnAssign applies an assignment once: a Todo task moves to Doing with the
// agent on it (whose load the assignment's write took already; see
// applyAssignment).
func (a *Agents) OnAssign(ctx context.Context, d bus.Delivery, e events.TaskAssignment) error {
	ctx = WithActor(ctx, "agent:"+e.AgentID)
	t, _, err := a.taskAndAgent(ctx, e.TaskID, e.AgentID)
	if err != nil {
		return err
	}
	err = a.applyOnce(ctx, "assignment", d.MsgID, t, e.AgentID, func(cur Task) error {
		if cur.AssignedAgent == nil || *cur.AssignedAgent != e.AgentID {
			return errSuperseded // released or given to another agent since
		}
		if cur.Status != "Todo" && cur.Status != "Doing" {
			return errSuperseded // its result came first: the agent is done with it
		}
		if err := a.store.applyAssignment(ctx, d.MsgID, e, loadPerTask); err != nil {
			return err
		}
		if cur.Status == "Todo" {
			agent := e.AgentID
			_, err = a.store.moveRow(ctx, cur, "Doing", &agent)
		}
		return err
	})
	if errors.Is(err, errSuperseded) {
		obs.Log(ctx).Info("assignment superseded", "msg_id", d.MsgID, "task_id", e.TaskID, "agent_id", e.AgentID)
		return nil
	}
	return err
}

// applyOnce is the consumers' shared skeleton. Under the agent's and the
// board's locks it reads the task again; if it moved since the event was
// read the delivery is stale (errStale: it comes back and is read again
// under the new column's lock); else apply runs, whose transaction claims
// the message (applied_messages) so that a second delivery finds it taken
// (errDuplicate), which is logged and counts as done. The consumers read and
// write tasks without their order on the board (TaskRecord, moveRow): they
// do not show it, and placing a task catches the board index up first.
func (a *Agents) applyOnce(ctx context.Context, what, msgID string, t Task, agentID string, apply func(cur Task) error) error {
	err := a.store.locked(ctx, func() error {
		cur, err := a.store.TaskRecord(ctx, t.ID)
		if err != nil {
			return err
		}
		if cur.Status != t.Status {
			return errStale
		}
		return apply(cur)
	}, agentLock(agentID), boardLock(t.ProjectID))
	if errors.Is(err, errDuplicate) {
		obs.Log(ctx).Info(what+" already applied", "msg_id", msgID, "task_id", t.ID)
		return nil
	}
	return err
}

// errSuperseded means an assignment event arrived after its task was
// released or reassigned: applying it would undo that.
var errSuperseded = errors.New("the task is no longer assigned to this agent")

// OnResult applies a task result once, by its id (a result published again
// under another message id is the same result; the id is claimed in the
// transaction that applies it): the task moves on (Review on
// success, back to Todo on failure), the agent sheds load (a pipeline
// stage's task is shed by the pipeline's hand-over), the execution is
// recorded and the agent's expertise on the task type recomputed, and the
// execution is announced to the portfolio.
func (a *Agents) OnResult(ctx context.Context, d bus.Delivery, e events.TaskResult) error {
	ctx = WithActor(ctx, "agent:"+e.AgentID)
	s := a.store
	t, ag, err := a.taskAndAgent(ctx, e.TaskID, e.AgentID)
	if err != nil {
		return err
	}
	taskType := taskTypeOf(t, "")
	success := e.Status == "success"
	next := "Review"
	if !success {
		next = "Todo"
	}
	err = a.applyOnce(ctx, "result "+e.ID, d.MsgID, t, e.AgentID, func(cur Task) error {
		_, _, _, stageTask := ParseStageTask(e.TaskID)
		if err := s.applyResult(ctx, e, t.Scope, taskType, success, !stageTask, loadPerTask); err != nil {
			return err
		}
		// Doing, or still Todo with this agent when the result comes before
		// its assignment is applied (which then finds it done).
		if cur.Status == "Doing" || cur.Status == "Todo" && cur.AssignedAgent != nil && *cur.AssignedAgent == e.AgentID {
			agent := cur.AssignedAgent
			if !success {
				agent = nil
			}
			if _, err := s.moveRow(ctx, cur, next, agent); err != nil {
				return err
			}
		}
		return a.relearn(ctx, ag, taskType)
	})
	if err != nil {
		return err
	}
	// Announced even for a redelivery: the portfolio keeps one record per event id.
	agentID := e.AgentID
	rec := events.ExecutionRecorded{ID: "vapora-" + e.ID, Project: t.ProjectID, Scope: t.Scope, Source: "vapora", TaskType: taskType,
		AgentID: &agentID, Status: e.Status, DurationMs: e.DurationMs, OccurredAt: d.Time.UTC(),
		Metadata: map[string]any{"task_id": e.TaskID, "tokens": e.Tokens}}
	if e.InputTokens > 0 || e.OutputTokens > 0 || e.CostCents > 0 || e.Output != "" {
		rec.Metadata["input_tokens"], rec.Metadata["output_tokens"] = e.InputTokens, e.OutputTokens
		rec.Metadata["cost_cents"], rec.Metadata["output"] = e.CostCents, e.Output
	}
	if rec.OccurredAt.IsZero() {
		rec.OccurredAt = s.now()
	}
	_, err = a.bus.Publish(ctx, events.SubjectExecutionRecorded, rec.ID, rec, nil)
	return err
}

// relearn recomputes an agent's expertise on a task type from its history.
func (a *Agents) relearn(ctx context.Context, ag Agent, taskType string) error {
	s := a.store
	execs, err := s.recentExecutions(ctx, ag.ID, taskType, maxExecutions)
	if err != nil {
		return err
	}
	rate, dur, recent, conf := Learn(execs, s.now())
	return s.saveExpertise(ctx, Expertise{AgentID: ag.ID, Role: ag.Role, TaskType: taskType, SuccessRate: rate,
		AvgDurationMs: dur, ExecutionCount: len(execs), RecentWeight: recent, Confidence: conf})
}

// OnHeartbeats records a batch of heartbeats in one write; those of an
// agent that never registered, or with no usable load, are dead-lettered.
func (a *Agents) OnHeartbeats(ctx context.Context, ds []bus.Delivery, es []events.Heartbeat) []error {
	errs, _ := a.heartbeats(ctx, ds, es)
	return errs
}

// heartbeats is OnHeartbeats, which also returns the agents whose
// heartbeats freed room on them (see Store.Heartbeats).
func (a *Agents) heartbeats(ctx context.Context, ds []bus.Delivery, es []events.Heartbeat) ([]error, []string) {
	errs := make([]error, len(es))
	beats := make([]Beat, 0, len(es))
	for i, e := range es {
		if math.IsNaN(e.CurrentLoad) {
			errs[i] = bus.Permanent(errors.New("current_load is not a number"))
			continue
		}
		at := ds[i].Time.UTC()
		if at.IsZero() {
			at = a.store.now()
		}
		beats = append(beats, NewBeat(e.AgentID, e.Status, e.CurrentLoad, at))
	}
	unknown, changed, freed, err := a.store.Heartbeats(ctx, beats)
	for _, b := range changed {
		a.agentChanged(ctx, fmt.Sprint(b.Agent.ID), "status", b.Status, b.Load)
	}
	for i, e := range es {
		switch {
		case errs[i] != nil:
		case err != nil:
			errs[i] = err
		case unknown[e.AgentID]:
			errs[i] = bus.Permanent(fmt.Errorf("agent %s is not registered", e.AgentID))
		}
	}
	return errs, freed
}

// OnRegister registers (or re-registers) an agent.
func (a *Agents) OnRegister(ctx context.Context, d bus.Delivery, e events.AgentRegistration) error {
	provider := e.Provider
	if provider == "" {
		provider = "Claude"
	}
	ag, err := a.store.Register(ctx, Agent{ID: e.AgentID, Role: e.Role, Provider: provider, Capabilities: e.Capabilities})
	if err == nil {
		a.agentChanged(ctx, ag.ID, "registered", ag.Status, ag.CurrentLoad)
	}
	return err
}

// Release takes an agent off its Doing tasks: each goes back to Todo,
// unassigned, giving back its share of the agent's load in the same write
// (ReleaseTask), and vapora.tasks.released says so.
func (a *Agents) Release(ctx context.Context, agentID, reason string) (int, error) {
	s := a.store
	tasks, err := s.doingTasksOf(ctx, agentID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		released := false
		err := s.locked(ctx, func() error {
			cur, err := s.Task(ctx, t.ID)
			if err != nil || cur.Status != "Doing" || cur.AssignedAgent == nil || *cur.AssignedAgent != agentID {
				return err // gone or moved on meanwhile
			}
			released, err = s.ReleaseTask(ctx, cur)
			return err
		}, boardLock(t.ProjectID))
		if err != nil {
			return n, err
		}
		if !released {
			continue
		}
		ev := events.TaskReleased{ID: "rel-" + t.ID + "-" + fmt.Sprint(s.now().Unix()), TaskID: t.ID, AgentID: agentID, Reason: reason}
		if _, err := a.bus.Publish(ctx, events.SubjectTaskReleased, ev.ID, ev, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Sweep turns agents silent for three heartbeat intervals Offline and
// releases their tasks.
func (a *Agents) Sweep(ctx context.Context, interval time.Duration) (int, error) {
	s := a.store
	ctx = WithActor(ctx, "vapora-agent-sweep")
	cutoff := s.now().Add(-3 * interval)
	stale, err := s.silentAgents(ctx, cutoff)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, ag := range stale {
		err := s.locked(ctx, func() error { return s.markOffline(ctx, ag.ID, cutoff) }, agentLock(ag.ID))
		if err == nil {
			a.agentChanged(ctx, ag.ID, "offline", "Offline", ag.CurrentLoad)
			_, err = a.Release(ctx, ag.ID, fmt.Sprintf("agent missed 3 heartbeats (%s each)", interval))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("agent %s: %w", ag.ID, err))
		}
		obs.Log(ctx).Info("agent went offline", "agent_id", ag.ID, "last_heartbeat", ag.LastHeartbeat)
	}
	return len(stale), errors.Join(errs...)
}

// Unregister removes an agent after releasing its tasks.
func (a *Agents) Unregister(ctx context.Context, id string) error {
	if _, err := a.store.Agent(ctx, id); err != nil {
		return err
	}
	if _, err := a.Release(ctx, id, "agent unregistered"); err != nil {
		return err
	}
	err := a.store.locked(ctx, func() error { return a.store.deleteAgent(ctx, id) }, agentLock(id))
	if err == nil {
		a.agentChanged(ctx, id, "unregistered", "", 0)
	}
	return err
}
