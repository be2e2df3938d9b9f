package vapora

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// putAgent stores a Ready agent with no load (Register takes the bus's
// locks, which testStores' stores have none of).
func putAgent(t *testing.T, s *Store, id, role string) {
	t.Helper()
	_, err := surreal.Query[any](context.Background(), s.db, `UPSERT $id SET role = $role, provider = 'Claude', capabilities = [],
		status = 'Ready', current_load = 0.0, last_heartbeat = time::now(), registered_at = time::now()`,
		map[string]any{"id": rid("agents", id), "role": role})
	if err != nil {
		t.Fatal(err)
	}
}

// fresh is a database name of its own, so that -count=n runs start empty.
func fresh(name string) string { return fmt.Sprint(name, "_", rand.Uint32()) }

// newTasks creates n Todo tasks in a new project.
func newTasks(t *testing.T, s *Store, n int) []Task {
	t.Helper()
	ctx := context.Background()
	prj, err := s.CreateProject(ctx, Project{Name: "swarm", Scope: "acme", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Task, n)
	for i := range out {
		if out[i], err = s.CreateTask(ctx, Task{ProjectID: prj.ID, Scope: "acme", Title: fmt.Sprint("watch ", i),
			Status: "Todo", Priority: "Medium", Tags: []string{"watch"}}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkLoads fails unless every agent of ids is within 1.0 and its load is
// exactly its tasks' shares: those open on it that hold their share there
// (load_on), each counted once. It returns the open tasks per agent.
func checkLoads(t *testing.T, s *Store, ids ...string) map[string]int {
	t.Helper()
	ctx := context.Background()
	held, err := surreal.Query[[]struct {
		Agent  string `json:"assigned_agent"`
		LoadOn string `json:"load_on"`
	}](ctx, s.db, "SELECT assigned_agent, load_on FROM tasks WHERE assigned_agent != NONE AND status IN ['Todo', 'Doing']", nil)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, h := range held {
		if h.LoadOn != h.Agent {
			t.Errorf("a task assigned to %s holds its share on %q", h.Agent, h.LoadOn)
		}
		count[h.Agent]++
	}
	for _, id := range ids {
		ag, err := s.Agent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ag.CurrentLoad > 1.0+1e-9 || math.Abs(ag.CurrentLoad-float64(count[id])*loadPerTask) > 1e-9 {
			t.Errorf("%s at load %.2f (%s) holds %d tasks", id, ag.CurrentLoad, ag.Status, count[id])
		}
		if full := float64(count[id])*loadPerTask >= 1.0-1e-9; full != (ag.Status == "Busy") {
			t.Errorf("%s holds %d tasks and is %s", id, count[id], ag.Status)
		}
	}
	return count
}

// Two instances assigning at once to the same agents never put one over
// load 1.0: the write that assigns a task takes its share only if the agent
// has room, checked in SurrealDB; every task is either assigned or reported
// unplaced with the reason, and applying the assignments adds no load twice.
func TestSwarmAssignKeepsTheCapAcrossInstances(t *testing.T) {
	ctx := context.Background()
	engines := pipelineEngines(t, fresh("swarm_cap"), 2)
	s := engines[0].store
	putAgent(t, s, "mon-a", "Monitor")
	putAgent(t, s, "mon-b", "Monitor")
	tasks := newTasks(t, s, 12)
	outs := make([]SwarmAssignment, 2)
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Go(func() {
			mine := tasks[i*6 : i*6+6]
			var err error
			if outs[i], err = e.agents.AssignAll(ctx, mine, []string{"Monitor", "Monitor", "Monitor", "Monitor", "Monitor", "Monitor"}, ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assigned, unplaced := 0, 0
	for _, out := range outs {
		assigned += len(out.Assigned)
		unplaced += len(out.Unplaced)
		for _, u := range out.Unplaced {
			if !strings.Contains(u.Reason, "load") && !strings.Contains(u.Reason, "filled") {
				t.Errorf("unplaced %s: %q", u.TaskID, u.Reason)
			}
		}
	}
	count := checkLoads(t, s, "mon-a", "mon-b")
	if assigned != 8 || unplaced != 4 || count["mon-a"] != 4 || count["mon-b"] != 4 {
		t.Fatalf("assigned %d, unplaced %d, per agent %v", assigned, unplaced, count)
	}
	// The agents' consumer applies each assignment: the share is there already.
	for _, out := range outs {
		for _, a := range out.Assigned {
			ev := events.TaskAssignment{ID: "asg-" + a.Task.ID, TaskID: a.Task.ID, AgentID: a.Agent.ID, TaskType: a.TaskType}
			if err := engines[1].agents.OnAssign(ctx, bus.Delivery{MsgID: ev.ID}, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkLoads(t, s, "mon-a", "mon-b")
}

// POST /tasks/{id}/assign to an agent without room is a 409 naming the
// agent and its load, also when another instance took the last room first.
func TestAssignOverTheCapIsAConflict(t *testing.T) {
	ctx := context.Background()
	engines := pipelineEngines(t, fresh("assign_cap"), 2)
	s := engines[0].store
	putAgent(t, s, "dev-1", "Developer")
	tasks := newTasks(t, s, 5)
	for _, task := range tasks[:3] {
		if _, err := engines[0].agents.Assign(ctx, task, "dev-1", "", ""); err != nil {
			t.Fatal(err)
		}
	}
	// Two instances race for the last quarter.
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Go(func() { _, errs[i] = e.agents.Assign(ctx, tasks[3+i], "dev-1", "", "") })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("both or neither got the last room: %v, %v", errs[0], errs[1])
	}
	lost := errors.Join(errs...)
	var he *httpapi.Error
	if !errors.As(storeError(lost), &he) || he.Status != http.StatusConflict ||
		!strings.Contains(he.Message, "dev-1") || !strings.Contains(he.Message, "load 1.00") {
		t.Fatalf("the loser got %v", storeError(lost))
	}
	if got := checkLoads(t, s, "dev-1"); got["dev-1"] != 4 {
		t.Fatalf("dev-1 holds %d tasks", got["dev-1"])
	}
	// By role: nobody has room (dev-1 is Busy), and the answer says so.
	_, err := engines[1].agents.Assign(ctx, tasks[4], "", "Developer", "")
	if !errors.As(storeError(err), &he) || he.Status != http.StatusConflict || !strings.Contains(he.Message, "no Ready agent with role Developer") {
		t.Fatalf("by role with no room: %v", err)
	}
	// Assigning a task to the agent that holds it already takes nothing more.
	held, _ := s.Task(ctx, tasks[0].ID)
	if _, err := engines[1].agents.Assign(ctx, held, "dev-1", "", ""); err != nil {
		t.Fatal(err)
	}
	checkLoads(t, s, "dev-1")
}

// Balancing from two instances at once, while a third assigns, keeps every
// agent within 1.0 and moves each task's share with it, counted once.
func TestBalanceMovesTheLoadWithTheTask(t *testing.T) {
	ctx := context.Background()
	engines := pipelineEngines(t, fresh("balance_cap"), 3)
	s := engines[0].store
	putAgent(t, s, "dev-a", "Developer")
	tasks := newTasks(t, s, 8)
	for _, task := range tasks[:4] {
		if _, err := engines[0].agents.Assign(ctx, task, "dev-a", "", ""); err != nil {
			t.Fatal(err)
		}
	}
	putAgent(t, s, "dev-b", "Developer")
	putAgent(t, s, "dev-c", "Developer")
	var wg sync.WaitGroup
	reports := make([]BalanceReport, 2)
	for i := range 2 {
		wg.Go(func() {
			var err error
			if reports[i], err = engines[i].agents.Balance(ctx, 0.5, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		if _, err := engines[2].agents.AssignAll(ctx, tasks[4:], []string{"Developer", "Developer", "Developer", "Developer"}, ""); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	count := checkLoads(t, s, "dev-a", "dev-b", "dev-c")
	moved := 0
	for _, r := range reports {
		for _, m := range r.Moves {
			if m.Done {
				moved++
			}
		}
	}
	if moved < 2 || count["dev-a"]+count["dev-b"]+count["dev-c"] != 8 {
		t.Fatalf("moves done %d, tasks per agent %v, reports %+v", moved, count, reports)
	}
}

// A heartbeat that frees room on an agent offers it to the stages waiting
// for its role at once; one that frees nothing offers nothing; and no
// heartbeat lowers the load below the shares the agent's tasks hold (a
// figure the agent sent before an assignment landed must not reopen the
// room it took).
func TestHeartbeatThatFreesRoomOffersWaitingStages(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, fresh("beat_offer"), 1)[0]
	s := e.store
	if _, err := s.Register(ctx, Agent{ID: "dev-1", Role: "Developer", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	beat := func(status string, load float64, after time.Duration) {
		t.Helper()
		hb := events.Heartbeat{AgentID: "dev-1", Status: status, CurrentLoad: load}
		if errs := e.OnHeartbeats(ctx, []bus.Delivery{{Time: time.Now().Add(after)}}, []events.Heartbeat{hb}); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	prj, _ := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	run := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := e.Create(ctx, prj, fmt.Sprint("run ", i), "alice", threeStages()); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(3)                         // three first stages: 0.75 held
	beat("Busy", 1.0, time.Second) // the agent is busy with work of its own
	run(2)
	waits, _ := s.Waiting(ctx, "Developer", 10)
	if got := agentState(t, s, "dev-1"); len(waits) != 2 || got != "1.00 Busy" {
		t.Fatalf("%d waiting, dev-1 %s", len(waits), got)
	}
	beat("Busy", 1.0, 2*time.Second) // nothing freed
	if left, _ := s.Waiting(ctx, "Developer", 10); len(left) != 2 {
		t.Fatalf("a heartbeat that freed nothing offered: %d waiting", len(left))
	}
	beat("Ready", 0.75, 3*time.Second) // its own work is done: room for one
	task, err := s.Task(ctx, waits[0].TaskID)
	left, _ := s.Waiting(ctx, "Developer", 10)
	if err != nil || task.AssignedAgent == nil || *task.AssignedAgent != "dev-1" || len(left) != 1 {
		t.Fatalf("after the freeing heartbeat: task %+v %v, %d waiting", task, err, len(left))
	}
	if got := agentState(t, s, "dev-1"); got != "1.00 Busy" {
		t.Fatalf("dev-1 after the offer: %s", got)
	}
	beat("Ready", 0.5, 4*time.Second) // sent before the offer's task reached it
	if got := agentState(t, s, "dev-1"); got != "1.00 Busy" {
		t.Fatalf("a heartbeat below the held shares: dev-1 %s", got)
	}
	if left, _ := s.Waiting(ctx, "Developer", 10); len(left) != 1 {
		t.Fatalf("a heartbeat below the held shares offered: %d waiting", len(left))
	}
}

// An assignment applied after its task's result gave the share back (the
// result's two writes, shed then move, let it in between, from any
// instance) takes no load and leaves no share held: a heartbeat at 0 then
// finds the agent empty.
func TestAssignmentAfterTheShedHoldsNoShare(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, fresh("late_assign"), 1)[0]
	s, a := e.store, e.agents
	putAgent(t, s, "dev-1", "Developer")
	task := newTasks(t, s, 1)[0]
	res, err := a.Assign(ctx, task, "dev-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	asg := events.TaskAssignment{ID: "asg-1", TaskID: task.ID, AgentID: "dev-1", TaskType: res.TaskType}
	result := events.TaskResult{ID: "res-1", TaskID: task.ID, AgentID: "dev-1", Status: "success"}
	if err := s.applyResult(ctx, result, "acme", res.TaskType, true, true, loadPerTask); err != nil {
		t.Fatal(err)
	}
	if err := s.applyAssignment(ctx, asg.ID, asg, loadPerTask); err != nil {
		t.Fatal(err)
	}
	hb := events.Heartbeat{AgentID: "dev-1", Status: "Ready", CurrentLoad: 0}
	if errs := a.OnHeartbeats(ctx, []bus.Delivery{{Time: time.Now().Add(time.Second)}}, []events.Heartbeat{hb}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if got := agentState(t, s, "dev-1"); got != "0.00 Ready" {
		t.Fatalf("after the result, a late assignment and a heartbeat at 0: dev-1 %s", got)
	}
}

// Releasing an agent's Doing tasks (it went Offline, or unregistered) gives
// their shares back in the same write; assigning one again later takes
// nothing off the agent it was released from.
func TestReleaseGivesTheLoadBack(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, fresh("release_load"), 1)[0]
	s, a := e.store, e.agents
	putAgent(t, s, "dev-1", "Developer")
	putAgent(t, s, "dev-2", "Developer")
	tasks := newTasks(t, s, 3)
	for _, task := range tasks[:2] {
		res, err := a.Assign(ctx, task, "dev-1", "", "")
		if err != nil {
			t.Fatal(err)
		}
		ev := events.TaskAssignment{ID: "asg-" + task.ID, TaskID: task.ID, AgentID: "dev-1", TaskType: res.TaskType}
		if err := a.OnAssign(ctx, bus.Delivery{MsgID: ev.ID}, ev); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.Release(ctx, "dev-1", "test"); err != nil || n != 2 {
		t.Fatalf("released %d: %v", n, err)
	}
	checkLoads(t, s, "dev-1", "dev-2")
	// dev-1 takes other work; the released task goes to dev-2.
	if _, err := a.Assign(ctx, tasks[2], "dev-1", "", ""); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Task(ctx, tasks[0].ID)
	if _, err := a.Assign(ctx, again, "dev-2", "", ""); err != nil {
		t.Fatal(err)
	}
	if got := checkLoads(t, s, "dev-1", "dev-2"); got["dev-1"] != 1 || got["dev-2"] != 1 {
		t.Fatalf("tasks per agent: %v", got)
	}
}

// Deleting an assigned task gives its share of load back to its agent.
func TestDeleteGivesTheLoadBack(t *testing.T) {
	ctx := context.Background()
	engines := pipelineEngines(t, fresh("delete_load"), 1)
	s := engines[0].store
	putAgent(t, s, "dev-d", "Developer")
	tasks := newTasks(t, s, 2)
	for _, task := range tasks {
		if _, err := engines[0].agents.Assign(ctx, task, "dev-d", "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteTask(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if got := checkLoads(t, s, "dev-d"); got["dev-d"] != 1 {
		t.Fatalf("dev-d holds %d tasks after a delete, want 1", got["dev-d"])
	}
}
