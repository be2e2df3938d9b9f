package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
)

// agentState reads an agent's load and status.
func agentState(t *testing.T, s *Store, id string) string {
	t.Helper()
	ag, err := s.Agent(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%.2f %s", ag.CurrentLoad, ag.Status)
}

// Pipelines started at once on two instances never fill an agent past load
// 1.0: each stage task takes its share of the agent's load in the write that
// assigns it, so the fifth stage waits for an agent instead.
func TestStageTasksKeepTheAgentWithinItsLoad(t *testing.T) {
	ctx := context.Background()
	engines := pipelineEngines(t, "pipelines_load", 2)
	s := engines[0].store
	if _, err := s.Register(ctx, Agent{ID: "dev-1", Role: "Developer", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	prj, _ := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			p, err := engines[i%2].Create(ctx, prj, fmt.Sprint("run ", i), "alice", threeStages())
			if err != nil {
				t.Error(err)
			}
			ids[i] = p.ID
		})
	}
	wg.Wait()
	assigned := 0
	for _, id := range ids {
		if task, err := s.Task(ctx, stageTaskID(id, 0, false)); err == nil && task.AssignedAgent != nil {
			assigned++
		}
	}
	waiting := 0
	waits, _ := s.Waiting(ctx, "Developer", 100)
	for _, w := range waits {
		if slices.Contains(ids, w.Pipeline) {
			waiting++
		}
	}
	if got := agentState(t, s, "dev-1"); assigned != 4 || waiting != 4 || got != "1.00 Busy" {
		t.Fatalf("%d stage tasks assigned, %d waiting, dev-1 %s", assigned, waiting, got)
	}
	// A result handed over by the pipeline's consumer alone (the agent's has
	// not run): the write frees dev-1's room, and the oldest waiting stage
	// takes it at once, not at the sweep.
	if _, err := s.Register(ctx, Agent{ID: "qa-1", Role: "Tester", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	var done string
	for _, id := range ids {
		if task, _ := s.Task(ctx, stageTaskID(id, 0, false)); task.AssignedAgent != nil && done == "" {
			done = task.ID
		}
	}
	res := events.TaskResult{ID: "res-" + done, TaskID: done, AgentID: "dev-1", Status: "success"}
	if err := engines[1].OnResult(ctx, bus.Delivery{MsgID: res.ID}, res); err != nil {
		t.Fatal(err)
	}
	waits, _ = s.Waiting(ctx, "Developer", 100)
	if task, _ := s.Task(ctx, waits[0].TaskID); len(waits) != 3 || task.AssignedAgent != nil {
		t.Fatalf("waiting after the hand-over: %d, the oldest %+v", len(waits), task)
	}
	if got := agentState(t, s, "dev-1"); got != "1.00 Busy" {
		t.Fatalf("dev-1 after the hand-over: %s", got)
	}
}

// A stage task's load is shed once, by the pipeline's hand-over, however
// often the two consumers of its result run: the hand-over's write sheds it
// and gives the next stage to the agent in the same transaction, so that no
// waiting stage takes the room first. A result that comes before its
// assignment is applied leaves the task done, not Doing, and the late
// assignment adds no load.
func TestHandOverShedsTheFinishedTaskOnce(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, "pipelines_shed", 1)[0]
	s, a := e.store, e.agents
	if _, err := s.Register(ctx, Agent{ID: "dev-1", Role: "Developer", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	prj, _ := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	stages := []Stage{{Name: "build", TaskType: "build", Role: "Developer"}, {Name: "package", TaskType: "package", Role: "Developer"}}
	p, err := e.Create(ctx, prj, "release", "alice", stages)
	if err != nil {
		t.Fatal(err)
	}
	assign := func(stage int) {
		task := stageTaskID(p.ID, stage, false)
		ev := events.TaskAssignment{ID: stageAssignmentID(task, "dev-1"), TaskID: task, AgentID: "dev-1", TaskType: stages[stage].TaskType}
		if err := a.OnAssign(ctx, bus.Delivery{MsgID: ev.ID}, ev); err != nil {
			t.Fatal(err)
		}
	}
	result := func(stage int) events.TaskResult {
		return events.TaskResult{ID: fmt.Sprint("res-", p.ID, "-", stage), TaskID: stageTaskID(p.ID, stage, false), AgentID: "dev-1", Status: "success"}
	}
	assign(0)
	if got := agentState(t, s, "dev-1"); got != "0.25 Ready" {
		t.Fatalf("after the first assignment applied: %s", got)
	}
	// The agent's and the pipeline's consumers at once, twice each; a stale
	// delivery comes back, as the bus redelivers it.
	var wg sync.WaitGroup
	for range 2 {
		for _, consume := range []func(context.Context, bus.Delivery, events.TaskResult) error{a.OnResult, e.OnResult} {
			wg.Go(func() {
				err := consume(ctx, bus.Delivery{MsgID: "m0"}, result(0))
				for errors.Is(err, errStale) {
					err = consume(ctx, bus.Delivery{MsgID: "m0"}, result(0))
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	next, err := s.Task(ctx, stageTaskID(p.ID, 1, false))
	if got := agentState(t, s, "dev-1"); got != "0.25 Ready" || err != nil || next.AssignedAgent == nil {
		t.Fatalf("after the first result: dev-1 %s, next task %+v %v", got, next, err)
	}
	// The second result before its assignment is applied.
	if err := a.OnResult(ctx, bus.Delivery{MsgID: "m1"}, result(1)); err != nil {
		t.Fatal(err)
	}
	if err := e.OnResult(ctx, bus.Delivery{MsgID: "m1"}, result(1)); err != nil {
		t.Fatal(err)
	}
	assign(1)
	done, _ := s.Task(ctx, stageTaskID(p.ID, 1, false))
	got, _ := s.Pipeline(ctx, p.ID)
	if st := agentState(t, s, "dev-1"); st != "0.00 Ready" || done.Status != "Review" || got.Status != PipelineSucceeded {
		t.Fatalf("at the end: dev-1 %s, last task %s, pipeline %s", st, done.Status, got.Status)
	}
	// Nor does it leave a share behind that a heartbeat would keep.
	hb := events.Heartbeat{AgentID: "dev-1", Status: "Ready", CurrentLoad: 0}
	if errs := a.OnHeartbeats(ctx, []bus.Delivery{{Time: time.Now().Add(time.Second)}}, []events.Heartbeat{hb}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if st := agentState(t, s, "dev-1"); st != "0.00 Ready" {
		t.Fatalf("after a heartbeat at 0: dev-1 %s", st)
	}
}

// The write that starts a stage creates its task assigned and puts the
// assignment in the outbox: an instance that dies right after it loses
// nothing, the redelivered result publishes the assignment, once.
func TestAssignmentSurvivesACrashAfterTheWrite(t *testing.T) {
	ctx := context.Background()
	e, p := releaseStarted(t, "pipelines_asg_crash", "dev-1", "qa-1")
	s := e.store
	// What apply writes for the first result, without running its effects.
	res := events.TaskResult{ID: "res-1", TaskID: stageTaskID(p.ID, 0, false), AgentID: "dev-1", Status: "success"}
	next := p
	next.Stages = append([]Stage(nil), p.Stages...)
	effects := next.onResult(0, false, true, "dev-1", s.now())
	start, err := e.startIn(ctx, stagePlanner(s, nil), next, effects)
	if err != nil || start == nil || start.Agent != "qa-1" {
		t.Fatalf("start: %+v %v", start, err)
	}
	outbox := announcements(next, next.Version+1, effects)
	outbox = append(outbox, assignmentMsgs(next, next.Version+1, len(outbox), start)...)
	if _, err := s.SaveTransition(ctx, next, Transition{Outbox: outbox, Release: []Hold{{TaskID: res.TaskID, Agent: "dev-1"}}, Start: start}); err != nil {
		t.Fatal(err)
	}
	if got := agentState(t, s, "qa-1") + ", " + agentState(t, s, "dev-1"); got != "0.25 Ready, 0.00 Ready" {
		t.Fatalf("loads after the write: %s", got)
	}
	for range 2 {
		if err := e.OnResult(ctx, bus.Delivery{MsgID: res.ID, Attempt: 2}, res); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := e.bus.ReadStream(ctx, "VAPORA", events.SubjectTaskAssign, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		var ev events.TaskAssignment
		if json.Unmarshal(m.Data, &ev) == nil && ev.TaskID == start.Task.ID {
			got = append(got, ev.AgentID)
		}
	}
	if len(got) != 1 || got[0] != "qa-1" {
		t.Fatalf("assignments of the next task published: %v", got)
	}
	if left, _ := s.Outbox(ctx, p.ID, time.Time{}, 10); len(left) != 0 {
		t.Fatalf("outbox left: %+v", left)
	}
}
