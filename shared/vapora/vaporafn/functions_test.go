package vaporafn

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/stratumiops/stratumiops/events"
	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// The two consumers of a result, as deployed: vapora-pipeline-on-result
// sheds the finished stage task's load and the agent takes a pipeline stage
// that waits for its role in the same delivery (no sweep), whichever of the
// two runs first; a result published again under another message id is
// applied once.
func TestResultConsumersOfferTheFreedAgent(t *testing.T) {
	ctx := context.Background()
	srv, err := localnats.Start(localnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	b, err := bus.Connect(ctx, srv.URL(), t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureStreams(ctx, catalog.Streams); err != nil {
		t.Fatal(err)
	}
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: "vaporafn_offer"}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/vapora"); err != nil {
		t.Fatal(err)
	}
	deps := &function.Deps{Surreal: db, Bus: b, Log: slog.New(slog.DiscardHandler)}
	p, err := pipelinesFor(ctx, deps)
	if err != nil {
		t.Fatal(err)
	}
	handle, err := OnTaskResult().Consumer(ctx, deps)
	if err != nil {
		t.Fatal(err)
	}
	advance, err := PipelineOnResult().Consumer(ctx, deps)
	if err != nil {
		t.Fatal(err)
	}
	store := p.Store()
	if _, err := store.Register(ctx, vapora.Agent{ID: "dev-1", Role: "Developer", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	prj, _ := store.CreateProject(ctx, vapora.Project{Name: "p", Scope: "acme", Status: "Active"})
	stage := []vapora.Stage{{Name: "build", TaskType: "build", Role: "Developer"}}
	// dev-1 takes four pipelines' stages and is full; the fifth waits.
	var waiting vapora.Pipeline
	var busy []vapora.Task
	for i := range 5 {
		pl, err := p.Create(ctx, prj, "pl", "alice", stage)
		if err != nil {
			t.Fatal(err)
		}
		task, _ := store.Task(ctx, *pl.Stages[0].TaskID)
		if i == 4 {
			waiting = pl
			if task.AssignedAgent != nil {
				t.Fatalf("the fifth stage got an agent over its load: %+v", task)
			}
			break
		}
		asg := events.TaskAssignment{ID: "asg-" + task.ID, TaskID: task.ID, AgentID: "dev-1", TaskType: "build"}
		if err := p.Agents().OnAssign(ctx, bus.Delivery{MsgID: asg.ID}, asg); err != nil {
			t.Fatal(err)
		}
		busy = append(busy, task)
	}
	res := events.TaskResult{ID: "res-1", TaskID: busy[0].ID, AgentID: "dev-1", Status: "success", DurationMs: 10}
	data, _ := json.Marshal(res)
	for _, msgID := range []string{"msg-1", "msg-2"} {
		for _, consume := range []bus.Handler{handle, advance} {
			if err := consume(ctx, bus.Delivery{Subject: events.SubjectTaskResult, MsgID: msgID, Data: data}); err != nil {
				t.Fatal(err)
			}
		}
	}
	task, err := store.Task(ctx, *waiting.Stages[0].TaskID)
	if err != nil || task.AssignedAgent == nil || *task.AssignedAgent != "dev-1" {
		t.Fatalf("the waiting stage after dev-1's result: %+v %v", task, err)
	}
	exp, err := store.AgentExpertise(ctx, "dev-1")
	if err != nil || len(exp) != 1 || exp[0].ExecutionCount != 1 {
		t.Fatalf("the result applied more than once: %+v %v", exp, err)
	}
}
