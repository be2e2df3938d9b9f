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
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
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

// Assign gives task to agentID, or to the best Ready agent of role, and
// publishes vapora.tasks.assign for the agent to pick up.
func (a *Agents) Assign(ctx context.Context, t Task, agentID, role, requestedType string) (Assignment, error) {
	if t.Status != "Todo" && t.Status != "Doing" {
		return Assignment{}, &AssignError{Msg: fmt.Sprintf("only Todo or Doing tasks can be assigned; this one is %s", t.Status)}
	}
	taskType := taskTypeOf(t, requestedType)
	var chosen Candidate
	if agentID != "" {
		ag, err := a.store.Agent(ctx, agentID)
		if errors.Is(err, ErrNotFound) {
			return Assignment{}, err
		}
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
		chosen = Candidate{Agent: ag, Expertise: exp[ag.ID]}
	} else {
		cands, err := a.store.Candidates(ctx, role, taskType)
		if err != nil {
			return Assignment{}, err
		}
		var ok bool
		if chosen, ok = Best(cands); !ok {
			return Assignment{}, &AssignError{Msg: fmt.Sprintf("no Ready agent with role %s", role)}
		}
	}
	return a.assignTo(ctx, t, chosen, taskType, false)
}

// assignTo records the assignment and publishes vapora.tasks.assign; with
// onlyFree the write holds only if nobody took the task meanwhile (errStale).
func (a *Agents) assignTo(ctx context.Context, t Task, chosen Candidate, taskType string, onlyFree bool) (Assignment, error) {
	updated, err := a.store.SetAssignment(ctx, t, chosen.Agent.ID, taskType, onlyFree)
	if err != nil {
		return Assignment{}, err
	}
	ev := events.TaskAssignment{ID: newID("asg"), TaskID: t.ID, AgentID: chosen.Agent.ID, TaskType: taskType,
		Payload: map[string]any{"project_id": t.ProjectID, "title": t.Title, "priority": t.Priority}}
	if _, err := a.bus.Publish(ctx, events.SubjectTaskAssign, ev.ID, ev, nil); err != nil {
		return Assignment{}, err
	}
	return Assignment{Task: updated, Agent: chosen.Agent, TaskType: taskType, Score: chosen.score()}, nil
}

// taskAndAgent loads what an event names; a missing one is a permanent
// failure (the event can never apply).
func (a *Agents) taskAndAgent(ctx context.Context, taskID, agentID string) (Task, Agent, error) {
	t, err := a.store.Task(ctx, taskID)
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

// OnAssign applies an assignment once: the agent takes on load (Busy when
// full) and a Todo task moves to Doing with the agent on it.
func (a *Agents) OnAssign(ctx context.Context, d bus.Delivery, e events.TaskAssignment) error {
	s := a.store
	t, _, err := a.taskAndAgent(ctx, e.TaskID, e.AgentID)
	if err != nil {
		return err
	}
	keys := []string{agentLock(e.AgentID), boardLock(t.ProjectID)}
	err = s.locked(ctx, func() error {
		cur, err := s.Task(ctx, e.TaskID)
		if err != nil {
			return err
		}
		if cur.Status != t.Status {
			return errStale // redelivered with the new column's lock
		}
		if cur.AssignedAgent == nil || *cur.AssignedAgent != e.AgentID {
			return errSuperseded // released or given to another agent since
		}
		_, err = surreal.Query[any](ctx, s.db, `BEGIN TRANSACTION;
CREATE $applied;
UPDATE $agent SET current_load = math::min([1.0, current_load + $load]),
	status = IF status = 'Ready' AND current_load >= 1.0 THEN 'Busy' ELSE status END;
UPDATE $task SET assigned_agent = $agentID, task_type = $type, updated_at = time::now();
COMMIT TRANSACTION;`, map[string]any{"applied": appliedID("assign", d.MsgID), "agent": rid("agents", e.AgentID),
			"load": loadPerTask, "task": rid("tasks", e.TaskID), "agentID": e.AgentID, "type": e.TaskType})
		if isDuplicate(err) {
			return errDuplicate
		}
		if err != nil {
			return fmt.Errorf("apply assignment: %w", err)
		}
		if cur.Status == "Todo" {
			agent := e.AgentID
			_, err = s.move(ctx, cur, "Doing", &agent)
		}
		return err
	}, keys...)
	if errors.Is(err, errDuplicate) {
		obs.Log(ctx).Info("assignment already applied", "msg_id", d.MsgID)
		return nil
	}
	if errors.Is(err, errSuperseded) {
		obs.Log(ctx).Info("assignment superseded", "msg_id", d.MsgID, "task_id", e.TaskID, "agent_id", e.AgentID)
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
// success, back to Todo on failure), the agent sheds load, the execution is
// recorded and the agent's expertise on the task type recomputed, and the
// execution is announced to the portfolio.
func (a *Agents) OnResult(ctx context.Context, d bus.Delivery, e events.TaskResult) error {
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
	keys := []string{agentLock(e.AgentID), boardLock(t.ProjectID)}
	err = s.locked(ctx, func() error {
		cur, err := s.Task(ctx, e.TaskID)
		if err != nil {
			return err
		}
		if cur.Status != t.Status {
			return errStale
		}
		_, err = surreal.Query[any](ctx, s.db, `BEGIN TRANSACTION;
CREATE $applied;
CREATE $exec CONTENT { agent_id: $agentID, task_id: $taskID, task_type: $type, success: $success, duration_ms: $dur, at: time::now(),
	output: $output, input_tokens: $in, output_tokens: $out, cost_cents: $cost, scope: $scope };
UPDATE $agent SET current_load = math::max([0.0, current_load - $load]),
	status = IF status = 'Busy' AND current_load < 1.0 THEN 'Ready' ELSE status END;
COMMIT TRANSACTION;`, map[string]any{"applied": appliedID("result", e.ID), "exec": rid("agent_executions", e.ID),
			"scope": optional(nonEmpty(t.Scope)), "agentID": e.AgentID, "taskID": e.TaskID, "type": taskType, "success": success, "dur": e.DurationMs,
			"agent": rid("agents", e.AgentID), "load": loadPerTask, "output": optional(nonEmpty(e.Output)),
			"in": e.InputTokens, "out": e.OutputTokens, "cost": e.CostCents})
		if isDuplicate(err) {
			return errDuplicate
		}
		if err != nil {
			return fmt.Errorf("apply result: %w", err)
		}
		if cur.Status == "Doing" {
			agent := cur.AssignedAgent
			if !success {
				agent = nil
			}
			if _, err := s.move(ctx, cur, next, agent); err != nil {
				return err
			}
		}
		return a.relearn(ctx, ag, taskType)
	}, keys...)
	if errors.Is(err, errDuplicate) {
		obs.Log(ctx).Info("result already applied", "msg_id", d.MsgID, "result_id", e.ID)
		err = nil
	}
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
	execs, err := surreal.Query[[]Execution](ctx, s.db, `SELECT success, duration_ms, at FROM agent_executions
		WHERE agent_id = $a AND task_type = $t ORDER BY at DESC LIMIT $n`, map[string]any{"a": ag.ID, "t": taskType, "n": maxExecutions})
	if err != nil {
		return fmt.Errorf("read executions: %w", err)
	}
	rate, dur, recent, conf := Learn(execs, s.now())
	_, err = surreal.Query[any](ctx, s.db, `UPSERT $id CONTENT { agent_id: $a, role: $role, task_type: $t, success_rate: $rate,
		avg_duration_ms: $dur, execution_count: $n, recent_weight: $recent, confidence: $conf, last_updated: time::now() }`,
		map[string]any{"id": rid("expertise", ag.ID+"/"+taskType), "a": ag.ID, "role": ag.Role, "t": taskType,
			"rate": rate, "dur": dur, "n": len(execs), "recent": recent, "conf": conf})
	if err != nil {
		return fmt.Errorf("write expertise: %w", err)
	}
	return nil
}

// OnHeartbeats records a batch of heartbeats in one write; those of an
// agent that never registered, or with no usable load, are dead-lettered.
func (a *Agents) OnHeartbeats(ctx context.Context, ds []bus.Delivery, es []events.Heartbeat) []error {
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
	unknown, err := a.store.Heartbeats(ctx, beats)
	for i, e := range es {
		switch {
		case errs[i] != nil:
		case err != nil:
			errs[i] = err
		case unknown[e.AgentID]:
			errs[i] = bus.Permanent(fmt.Errorf("agent %s is not registered", e.AgentID))
		}
	}
	return errs
}

// OnRegister registers (or re-registers) an agent.
func (a *Agents) OnRegister(ctx context.Context, d bus.Delivery, e events.AgentRegistration) error {
	provider := e.Provider
	if provider == "" {
		provider = "Claude"
	}
	_, err := a.store.Register(ctx, Agent{ID: e.AgentID, Role: e.Role, Provider: provider, Capabilities: e.Capabilities})
	return err
}

// Release takes an agent off its Doing tasks: each goes back to Todo,
// unassigned, and vapora.tasks.released says so.
func (a *Agents) Release(ctx context.Context, agentID, reason string) (int, error) {
	s := a.store
	rows, err := surreal.Query[[]taskRow](ctx, s.db, "SELECT "+fields+" FROM tasks WHERE assigned_agent = $a AND status = 'Doing'",
		map[string]any{"a": agentID})
	if err != nil {
		return 0, fmt.Errorf("find the agent's tasks: %w", err)
	}
	n := 0
	for _, r := range rows {
		t := r.task()
		err := s.locked(ctx, func() error {
			cur, err := s.Task(ctx, t.ID)
			if err != nil || cur.Status != "Doing" || cur.AssignedAgent == nil || *cur.AssignedAgent != agentID {
				return err // gone or moved on meanwhile
			}
			_, err = s.move(ctx, cur, "Todo", nil)
			return err
		}, boardLock(t.ProjectID))
		if err != nil {
			return n, err
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
	cutoff := s.now().Add(-3 * interval)
	stale, err := surreal.Query[[]Agent](ctx, s.db, "SELECT "+fields+" FROM agents WHERE status != 'Offline' AND last_heartbeat < $cutoff",
		map[string]any{"cutoff": cutoff})
	if err != nil {
		return 0, fmt.Errorf("find silent agents: %w", err)
	}
	var errs []error
	for _, ag := range stale {
		err := s.locked(ctx, func() error {
			_, err := surreal.Query[any](ctx, s.db, "UPDATE $id SET status = 'Offline' WHERE last_heartbeat < $cutoff",
				map[string]any{"id": rid("agents", ag.ID), "cutoff": cutoff})
			return err
		}, agentLock(ag.ID))
		if err == nil {
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
	return a.store.locked(ctx, func() error {
		_, err := surreal.Query[any](ctx, a.store.db, "DELETE $id", map[string]any{"id": rid("agents", id)})
		return err
	}, agentLock(id))
}
