package vapora

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/events"
	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// pipelineEngines returns n engines over one fresh database and a real
// embedded NATS, each with its own connection, as n Lambda instances have.
func pipelineEngines(t *testing.T, database string, n int) []*Pipelines {
	t.Helper()
	ctx := context.Background()
	srv, err := localnats.Start(localnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	out := make([]*Pipelines, n)
	for i := range out {
		b, err := bus.Connect(ctx, srv.URL(), t.Name(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		if err := b.EnsureStreams(ctx, catalog.Streams); err != nil {
			t.Fatal(err)
		}
		locks, err := b.Locks(ctx, "vapora-locks", 10*time.Second, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: database}, nil)
		t.Cleanup(func() { _ = db.Close() })
		if i == 0 {
			if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/vapora"); err != nil {
				t.Fatal(err)
			}
		}
		store := NewStore(db, locks)
		agents := NewAgents(store, b)
		out[i] = NewPipelines(store, agents, b)
	}
	return out
}

// A result delivered to several instances at once, and again later,
// advances its pipeline exactly once; the next stage's task is created once
// and given to the only agent of its role.
func TestDuplicatedResultAdvancesOnce(t *testing.T) {
	ctx := context.Background()
	engines := pipelineEngines(t, "pipelines_once", 4)
	s := engines[0].store
	for _, ag := range []Agent{{ID: "dev-1", Role: "Developer", Provider: "Claude"}, {ID: "qa-1", Role: "Tester", Provider: "Claude"}} {
		if _, err := s.Register(ctx, ag); err != nil {
			t.Fatal(err)
		}
	}
	prj, err := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engines[0].Create(ctx, prj, "release", "alice", threeStages())
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Task(ctx, *p.Stages[0].TaskID)
	if err != nil || first.AssignedAgent == nil || *first.AssignedAgent != "dev-1" {
		t.Fatalf("first stage's task: %+v %v", first, err)
	}
	res := events.TaskResult{ID: "res-1", TaskID: first.ID, AgentID: "dev-1", Status: "success"}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = engines[i%len(engines)].OnResult(ctx, bus.Delivery{MsgID: res.ID}, res) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Pipeline(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Created at 1, one transition: version 2.
	if got.Version != 2 || statuses(got) != "Running:Succeeded,Running,Pending" {
		t.Fatalf("version %d, %s", got.Version, statuses(got))
	}
	second, err := s.Task(ctx, *got.Stages[1].TaskID)
	if err != nil || second.AssignedAgent == nil || *second.AssignedAgent != "qa-1" {
		t.Fatalf("second stage's task: %+v %v", second, err)
	}
	// Late redelivery: still nothing.
	if err := engines[1].OnResult(ctx, bus.Delivery{MsgID: res.ID}, res); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Pipeline(ctx, p.ID); again.Version != 2 {
		t.Fatalf("a redelivery moved the pipeline to version %d", again.Version)
	}
	// A gate that times out fails the stage and rolls back in reverse, through the sweep.
	res2 := events.TaskResult{ID: "res-2", TaskID: second.ID, AgentID: "qa-1", Status: "success"}
	if err := engines[2].OnResult(ctx, bus.Delivery{MsgID: res2.ID}, res2); err != nil {
		t.Fatal(err)
	}
	if _, err := engines[3].Decide(ctx, p.ID, "deploy", true, "bob", ""); err == nil {
		t.Fatal("approved a stage that has not run")
	}
	// No DevOps agent yet: the deploy task waits in Todo until the sweep finds one.
	deployID := stageTaskID(p.ID, 2, false)
	if waiting, err := s.Task(ctx, deployID); err != nil || waiting.AssignedAgent != nil {
		t.Fatalf("deploy task: %+v %v", waiting, err)
	}
	if _, err := s.Register(ctx, Agent{ID: "ops-1", Role: "DevOps", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	if _, active, err := engines[3].Sweep(ctx); err != nil || active != 1 {
		t.Fatalf("sweep: %d active, %v", active, err)
	}
	if deploy, err := s.Task(ctx, deployID); err != nil || deploy.AssignedAgent == nil || *deploy.AssignedAgent != "ops-1" {
		t.Fatalf("deploy task after the sweep: %+v %v", deploy, err)
	}
	res3 := events.TaskResult{ID: "res-3", TaskID: deployID, AgentID: "ops-1", Status: "success"}
	if err := engines[0].OnResult(ctx, bus.Delivery{MsgID: res3.ID}, res3); err != nil {
		t.Fatal(err)
	}
	// The gate's hour passes: the sweep fails it and the stages roll back, last first.
	later := engines[3]
	later.store.now = func() time.Time { return time.Now().UTC().Add(2 * time.Hour) }
	if expired, _, err := later.Sweep(ctx); err != nil || expired != 1 {
		t.Fatalf("sweep: %d expired, %v", expired, err)
	}
	got, _ = s.Pipeline(ctx, p.ID)
	if statuses(got) != "RollingBack:Succeeded,Succeeded,Failed" || *got.Stages[1].RollbackStatus != StageRunning {
		t.Fatalf("after the timeout: %s", statuses(got))
	}
	rb, err := s.Task(ctx, stageTaskID(p.ID, 1, true))
	if err != nil || rb.AssignedAgent == nil || *rb.AssignedAgent != "qa-1" {
		t.Fatalf("rollback task of stage test: %+v %v", rb, err)
	}
}

func TestApprovalPolicy(t *testing.T) {
	engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
	if err != nil {
		t.Fatal(err)
	}
	p := Pipeline{ID: "pipe_1", Scope: "acme", Requester: "alice"}
	s := Stage{Name: "deploy", Approval: &ApprovalGate{Required: true, Approvers: "release"}}
	stage := stageEntity(p, s)
	for _, c := range []struct {
		who    string
		scopes []string
		want   bool
	}{
		{"bob", []string{"acme", "release"}, true},
		{"alice", []string{"acme", "release"}, false},  // the requester
		{"carol", []string{"acme"}, false},             // not an approver
		{"dave", []string{"globex", "release"}, false}, // another tenant
	} {
		uid := cedar.NewEntityUID("Caller", cedar.String(c.who))
		vals := make([]cedar.Value, len(c.scopes))
		for i, s := range c.scopes {
			vals[i] = cedar.String(s)
		}
		caller := authz.Entity(uid, cedar.RecordMap{"scopes": cedar.NewSet(vals...)})
		d := engine.Authorize(context.Background(), authz.Request{Principal: uid, Action: cedar.NewEntityUID("Action", "approve"),
			Resource: stage.UID, Entities: authz.Entities(caller, stage)})
		if d.Allowed != c.want {
			t.Errorf("%s %v: allowed %v", c.who, c.scopes, d.Allowed)
		}
	}
}

// An instance that stored a transition and died before its effects: the
// redelivered result finds the pipeline already moved, changes nothing, and
// creates and assigns the task the pipeline waits on.
func TestRedeliveryRedoesLostEffects(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, "pipelines_crash", 1)[0]
	s := e.store
	for _, ag := range []Agent{{ID: "dev-1", Role: "Developer", Provider: "Claude"}, {ID: "qa-1", Role: "Tester", Provider: "Claude"}} {
		if _, err := s.Register(ctx, ag); err != nil {
			t.Fatal(err)
		}
	}
	prj, _ := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	p, err := e.Create(ctx, prj, "release", "alice", threeStages())
	if err != nil {
		t.Fatal(err)
	}
	// The first delivery's write, without its effects.
	p.onResult(0, false, true, "dev-1", s.now())
	if _, err := s.SavePipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	next := stageTaskID(p.ID, 1, false)
	if _, err := s.Task(ctx, next); err != ErrNotFound {
		t.Fatalf("the next task exists before the redelivery: %v", err)
	}
	res := events.TaskResult{ID: "res-1", TaskID: stageTaskID(p.ID, 0, false), AgentID: "dev-1", Status: "success"}
	if err := e.OnResult(ctx, bus.Delivery{MsgID: res.ID, Attempt: 2}, res); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Pipeline(ctx, p.ID)
	task, err := s.Task(ctx, next)
	if got.Version != 2 || err != nil || task.AssignedAgent == nil || *task.AssignedAgent != "qa-1" {
		t.Fatalf("version %d, next task %+v %v", got.Version, task, err)
	}
}
