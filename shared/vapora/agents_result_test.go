package vapora

import (
	"context"
	"testing"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// A result published again under another message id (a producer's retry
// after a lost ack) is the same result: vapora-on-task-result applies it
// once, by its id, and records the scope of its task with the execution.
func TestResultUnderANewMessageIDAppliesOnce(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, "results_once", 1)[0]
	s, a := e.store, e.agents
	if _, err := s.Register(ctx, Agent{ID: "dev-1", Role: "Developer", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	prj, err := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := s.CreateTask(ctx, Task{ProjectID: prj.ID, Scope: "acme", Title: "build", Status: "Todo", Priority: "Medium", Tags: []string{"build"}})
	if err != nil {
		t.Fatal(err)
	}
	if task, err = s.SetAssignment(ctx, task, "dev-1", "build"); err != nil {
		t.Fatal(err)
	}
	asg := events.TaskAssignment{ID: "asg-1", TaskID: task.ID, AgentID: "dev-1", TaskType: "build"}
	if err := a.OnAssign(ctx, bus.Delivery{MsgID: asg.ID}, asg); err != nil {
		t.Fatal(err)
	}
	res := events.TaskResult{ID: "res-1", TaskID: task.ID, AgentID: "dev-1", Status: "success", DurationMs: 1500}
	for _, msgID := range []string{"msg-1", "msg-2", "msg-1"} {
		if err := a.OnResult(ctx, bus.Delivery{MsgID: msgID}, res); err != nil {
			t.Fatalf("delivery %s: %v", msgID, err)
		}
	}
	execs, err := surreal.Query[[]map[string]any](ctx, s.db, "SELECT scope, success FROM agent_executions WHERE task_id = $t", map[string]any{"t": task.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(execs) != 1 || execs[0]["scope"] != "acme" {
		t.Fatalf("executions recorded: %v", execs)
	}
	exp, err := s.AgentExpertise(ctx, "dev-1")
	if err != nil || len(exp) != 1 || exp[0].ExecutionCount != 1 {
		t.Fatalf("expertise: %+v %v", exp, err)
	}
	if mine, _ := s.AgentExecutions(ctx, "dev-1", []string{"acme"}, 10); len(mine) != 1 {
		t.Fatalf("the scope's executions: %+v", mine)
	}
	if theirs, _ := s.AgentExecutions(ctx, "dev-1", []string{"globex"}, 10); len(theirs) != 0 {
		t.Fatalf("another scope sees: %+v", theirs)
	}
	if same, _ := s.ExecutionsOfType(ctx, "globex", "build", "", 10); len(same) != 0 {
		t.Fatalf("another scope's same-type executions: %+v", same)
	}
}
