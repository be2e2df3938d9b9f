package vapora

import (
	"context"
	"errors"
	"sort"
)

// Placing tasks on agents for POST /swarm/assign, POST /tasks/{id}/assign
// (by role) and POST /swarm/balance. The planner chooses (it counts what one
// request hands out); the write that assigns a task checks the agent's room
// in SurrealDB itself (SetAssignment), so that instances assigning at once
// never put an agent over 1.0: a task whose agent another instance filled
// first goes to the next best one.

// reasonChanged is why a task read before its write was not placed.
const reasonChanged = "the task changed meanwhile"

// place gives t to the best agent of role that pl finds room on within
// limit (not exclude); reason says why it could not be placed.
func (a *Agents) place(ctx context.Context, pl *planner, t Task, role, taskType string, limit float64, exclude string) (Assignment, string, error) {
	if t.Status != "Todo" && t.Status != "Doing" {
		return Assignment{}, "only Todo or Doing tasks can be assigned; this one is " + t.Status, nil
	}
	for range agentTries {
		c, reason, err := pl.pick(ctx, role, taskType, limit, exclude)
		if err != nil || reason != "" {
			return Assignment{}, reason, err
		}
		res, err := a.assignTo(ctx, t, c, taskType)
		switch {
		case errors.Is(err, errAgentFull):
			pl.full(c.Agent.ID) // another instance filled it first: the next best
			continue
		case errors.Is(err, errStale):
			return Assignment{}, reasonChanged, nil
		}
		return res, "", err
	}
	return Assignment{}, "every agent with room was filled by others first", nil
}

// AssignAll places tasks, each on the best Ready agent of its role (roles[i])
// with room for it; those it cannot place are reported with the reason.
func (a *Agents) AssignAll(ctx context.Context, tasks []Task, roles []string, requestedType string) (SwarmAssignment, error) {
	out := SwarmAssignment{Assigned: []Assignment{}, Unplaced: []Unplaced{}}
	pl := newPlanner(a.store)
	for i, t := range tasks {
		res, reason, err := a.place(ctx, pl, t, roles[i], taskTypeOf(t, requestedType), 1.0, "")
		if err != nil {
			return out, err
		}
		if reason != "" {
			out.Unplaced = append(out.Unplaced, Unplaced{TaskID: t.ID, Title: t.Title, Reason: reason})
			continue
		}
		out.Assigned = append(out.Assigned, res)
	}
	return out, nil
}

// Balance moves queued tasks off agents above threshold, the fullest first,
// to the best agents of their role under it. Each move is one write: the
// task leaves its agent only if it is still queued there, and the load moves
// with it (SetAssignment).
func (a *Agents) Balance(ctx context.Context, threshold float64, dry bool) (BalanceReport, error) {
	rep := BalanceReport{Threshold: threshold, DryRun: dry, Moves: []Move{}}
	agents, err := a.store.Agents(ctx, "")
	if err != nil {
		return rep, err
	}
	open, err := a.store.OpenTasks(ctx)
	if err != nil {
		return rep, err
	}
	sort.SliceStable(agents, func(i, j int) bool { return agents[i].CurrentLoad > agents[j].CurrentLoad })
	pl := newPlanner(a.store)
	for _, ag := range agents {
		load := ag.CurrentLoad
		for _, t := range open {
			if load <= threshold+1e-9 {
				break
			}
			if t.AssignedAgent != ag.ID || t.Status != "Todo" {
				continue
			}
			m, room, err := a.moveOff(ctx, pl, t, ag, threshold, dry)
			if err != nil {
				return rep, err
			}
			if !room {
				break // nobody of this role has room
			}
			if m.Done || dry {
				load -= loadPerTask
			}
			rep.Moves = append(rep.Moves, m)
		}
	}
	return rep, nil
}

// moveOff moves the queued task t off ag to the best agent with room under
// threshold; room is false when none has.
func (a *Agents) moveOff(ctx context.Context, pl *planner, t OpenTask, ag Agent, threshold float64, dry bool) (Move, bool, error) {
	taskType := "general"
	if t.TaskType != nil {
		taskType = *t.TaskType
	}
	if dry {
		c, reason, err := pl.pick(ctx, ag.Role, taskType, threshold, ag.ID)
		return Move{TaskID: t.ID, From: ag.ID, To: c.Agent.ID, Score: c.score()}, err == nil && reason == "", err
	}
	from := ag.ID
	task := Task{ID: t.ID, ProjectID: t.ProjectID, Title: t.Title, Status: "Todo", AssignedAgent: &from}
	res, reason, err := a.place(ctx, pl, task, ag.Role, taskType, threshold, ag.ID)
	switch {
	case err != nil:
		return Move{}, false, err
	case reason == reasonChanged:
		return Move{TaskID: t.ID, From: ag.ID, Note: "the task was started or taken meanwhile"}, true, nil
	case reason != "":
		return Move{}, false, nil
	}
	return Move{TaskID: t.ID, From: ag.ID, To: res.Agent.ID, Score: res.Score, Done: true}, true, nil
}
