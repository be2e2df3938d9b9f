package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
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
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// pipelineEngines returns n engines over one fresh database and a real
// embedded NATS, each with its own connection, as n Lambda instances have.
// releaseStarted is one engine over database with a Developer agent (and a
// Tester, when given) registered and alice's three-stage pipeline started.
func releaseStarted(t *testing.T, database, developer string, tester ...string) (*Pipelines, Pipeline) {
	t.Helper()
	ctx := context.Background()
	e := pipelineEngines(t, database, 1)[0]
	agents := []Agent{{ID: developer, Role: "Developer", Provider: "Claude"}}
	for _, id := range tester {
		agents = append(agents, Agent{ID: id, Role: "Tester", Provider: "Claude"})
	}
	for _, ag := range agents {
		if _, err := e.store.Register(ctx, ag); err != nil {
			t.Fatal(err)
		}
	}
	prj, _ := e.store.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	p, err := e.Create(ctx, prj, "release", "alice", threeStages())
	if err != nil {
		t.Fatal(err)
	}
	return e, p
}

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
		{"alice", []string{"acme", "release"}, false},     // the requester
		{"carol", []string{"acme"}, false},                // not an approver
		{"dave", []string{"globex", "release"}, false},    // another tenant
		{"apikey:ci", []string{"acme", "release"}, false}, // an API key with no owner stands for nobody
	} {
		caller := authz.Caller(&principal.Principal{Subject: c.who, Person: c.who, Scopes: c.scopes})
		d := engine.Authorize(context.Background(), authz.Request{Principal: caller.UID, Action: cedar.NewEntityUID("Action", "approve"),
			Resource: stage.UID, Entities: authz.Entities(caller, stage)})
		if d.Allowed != c.want {
			t.Errorf("%s %v: allowed %v", c.who, c.scopes, d.Allowed)
		}
	}
}

// One person is one approver: the requester's own API key (whose record
// names them as its owner) cannot approve what their JWT requested, nor
// the other way round; a caller whose entity names no person decides nothing.
func TestRequesterCannotApproveWithAnotherCredential(t *testing.T) {
	engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := principal.New(principal.Config{JWTSecret: "0123456789abcdef0123456789abcdef",
		APIKeys: `[{"name":"alice-laptop","key_sha256":"` + principal.HashKey("k-alice") + `","scopes":["acme","release"],"owner":"alice"},` +
			`{"name":"bob-ci","key_sha256":"` + principal.HashKey("k-bob") + `","scopes":["acme","release"],"owner":"bob"}]`}.ForSystem("vapora"))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := auth.Issue("alice", []string{"acme", "release"}, time.Hour)
	as := func(header, value string) *principal.Principal {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set(header, value)
		p, err := auth.Authenticate(r)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	aliceJWT, aliceKey, bobKey := as("Authorization", "Bearer "+tok), as("X-API-Key", "k-alice"), as("X-API-Key", "k-bob")
	allowed := func(requester, approver *principal.Principal) bool {
		stage := stageEntity(Pipeline{ID: "pipe_1", Scope: "acme", Requester: requester.Person},
			Stage{Name: "deploy", Approval: &ApprovalGate{Required: true, Approvers: "release"}})
		caller := authz.Caller(approver)
		return engine.Authorize(context.Background(), authz.Request{Principal: caller.UID, Action: cedar.NewEntityUID("Action", "approve"),
			Resource: stage.UID, Entities: authz.Entities(caller, stage)}).Allowed
	}
	if allowed(aliceJWT, aliceKey) || allowed(aliceKey, aliceJWT) || allowed(aliceJWT, aliceJWT) {
		t.Fatal("alice approved her own pipeline with another credential")
	}
	if !allowed(aliceJWT, bobKey) || !allowed(bobKey, aliceJWT) {
		t.Fatal("another person could not approve")
	}
	stage := stageEntity(Pipeline{ID: "pipe_1", Scope: "acme", Requester: "alice"}, Stage{Name: "deploy", Approval: &ApprovalGate{Required: true, Approvers: "release"}})
	nobody := authz.Entity(cedar.NewEntityUID("Caller", "bob"), cedar.RecordMap{"scopes": cedar.NewSet(cedar.String("acme"), cedar.String("release"))})
	if engine.Authorize(context.Background(), authz.Request{Principal: nobody.UID, Action: cedar.NewEntityUID("Action", "approve"),
		Resource: stage.UID, Entities: authz.Entities(nobody, stage)}).Allowed {
		t.Fatal("a caller without a person approved")
	}
}

// The approver group of a gate is the project's, whatever the request says.
func TestGateApproversComeFromTheProject(t *testing.T) {
	release := "release"
	gated := func(approvers string) []Stage {
		return []Stage{{Name: "build", TaskType: "build", Role: "Developer"},
			{Name: "deploy", TaskType: "deploy", Role: "DevOps", Approval: &ApprovalGate{Required: true, Approvers: approvers}}}
	}
	stages := gated("")
	if err := GateApprovers(Project{ID: "prj_1", Approvers: &release}, stages); err != nil || stages[1].Approval.Approvers != "release" {
		t.Fatalf("unnamed: %v %+v", err, stages[1].Approval)
	}
	if err := GateApprovers(Project{ID: "prj_1", Approvers: &release}, gated("release")); err != nil {
		t.Fatalf("named as configured: %v", err)
	}
	err := GateApprovers(Project{ID: "prj_1", Approvers: &release}, gated("my-friends"))
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "deploy" || !strings.Contains(se.Msg, "configuration") {
		t.Fatalf("a group of the requester's choosing: %v", err)
	}
	if err := GateApprovers(Project{ID: "prj_1"}, gated("release")); !errors.As(err, &se) || !strings.Contains(se.Msg, "no approver group") {
		t.Fatalf("a project without a group: %v", err)
	}
}

// An instance that stored a transition and died before its effects: the
// redelivered result finds the pipeline already moved, changes nothing, and
// creates and assigns the task the pipeline waits on.
func TestRedeliveryRedoesLostEffects(t *testing.T) {
	ctx := context.Background()
	e, p := releaseStarted(t, "pipelines_crash", "dev-1", "qa-1")
	s := e.store
	// The first delivery's write, with its events in the outbox, without its
	// effects: the instance died before publishing anything.
	effects := p.onResult(0, false, true, "dev-1", s.now())
	if _, err := s.SavePipeline(ctx, p, announcements(p, p.Version+1, effects)); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Outbox(ctx, p.ID, time.Time{}, 10); err != nil || len(left) != 2 {
		t.Fatalf("outbox after the write: %+v %v", left, err)
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
	// The stage events the first delivery wrote were published by the redelivery, once each.
	if left, err := s.Outbox(ctx, p.ID, time.Time{}, 10); err != nil || len(left) != 0 {
		t.Fatalf("outbox after the redelivery: %+v %v", left, err)
	}
	if got := stageEventsOf(t, e.bus, p.ID); got != "build:Running build:Succeeded test:Running" {
		t.Fatalf("stage events: %s", got)
	}
}

// The sweep publishes what an instance that died after its write left in
// the outbox, once it is older than the grace the writer has to publish it.
func TestSweepPublishesTheOutbox(t *testing.T) {
	ctx := context.Background()
	e, p := releaseStarted(t, "pipelines_outbox", "dev-1")
	s := e.store
	effects := p.onResult(0, false, true, "dev-1", s.now())
	if _, err := s.SavePipeline(ctx, p, announcements(p, p.Version+1, effects)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stageEventsOf(t, e.bus, p.ID); got != "build:Running" {
		t.Fatalf("the sweep published young outbox messages: %s", got)
	}
	s.now = func() time.Time { return time.Now().UTC().Add(outboxGrace + time.Second) }
	if _, _, err := e.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stageEventsOf(t, e.bus, p.ID); got != "build:Running build:Succeeded test:Running" {
		t.Fatalf("stage events after the sweep: %s", got)
	}
}

func stageEventsOf(t *testing.T, b *bus.Bus, pipeline string) string {
	t.Helper()
	msgs, err := b.ReadStream(context.Background(), "VAPORA", events.SubjectPipelineStage, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		var ev events.StageEvent
		if json.Unmarshal(m.Data, &ev) == nil && ev.PipelineID == pipeline {
			got = append(got, ev.Stage+":"+ev.Status)
		}
	}
	return strings.Join(got, " ")
}

// A stage whose role has no free agent waits; the moment an agent of the
// role frees up, it offers itself and takes the oldest waiting stage, with
// no sweep. A wait whose pipeline moved on is dropped.
func TestFreedAgentTakesAWaitingStage(t *testing.T) {
	ctx := context.Background()
	e := pipelineEngines(t, "pipelines_offer", 1)[0]
	s := e.store
	if _, err := s.Register(ctx, Agent{ID: "dev-1", Role: "Developer", Provider: "Claude"}); err != nil {
		t.Fatal(err)
	}
	setLoad := func(load float64, status string) {
		if _, err := surreal.Query[any](ctx, s.db, "UPDATE agents:`dev-1` SET current_load = $l, status = $s",
			map[string]any{"l": load, "s": status}); err != nil {
			t.Fatal(err)
		}
	}
	setLoad(1.0, "Busy")
	prj, _ := s.CreateProject(ctx, Project{Name: "p", Scope: "acme", Status: "Active"})
	first, err := e.Create(ctx, prj, "first", "alice", threeStages())
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.Create(ctx, prj, "second", "alice", threeStages())
	if err != nil {
		t.Fatal(err)
	}
	cancelled, err := e.Create(ctx, prj, "cancelled", "alice", threeStages())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Cancel(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	waits, err := s.Waiting(ctx, "Developer", 10)
	if err != nil || len(waits) != 3 || waits[0].Pipeline != first.ID {
		t.Fatalf("waiting: %+v %v", waits, err)
	}
	// dev-1's result is applied: it has room for one more task.
	setLoad(0.75, "Ready")
	if err := e.Offer(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	task, err := s.Task(ctx, *first.Stages[0].TaskID)
	if err != nil || task.AssignedAgent == nil || *task.AssignedAgent != "dev-1" {
		t.Fatalf("the oldest waiting stage: %+v %v", task, err)
	}
	if task, _ := s.Task(ctx, *second.Stages[0].TaskID); task.AssignedAgent != nil {
		t.Fatalf("the second stage was assigned too: %+v", task)
	}
	// The assignment applies (load 1.0); later the agent frees up again.
	setLoad(0.75, "Ready")
	if err := e.Offer(ctx, "dev-1"); err != nil {
		t.Fatal(err)
	}
	if task, _ := s.Task(ctx, *second.Stages[0].TaskID); task.AssignedAgent == nil || *task.AssignedAgent != "dev-1" {
		t.Fatalf("the second waiting stage: %+v", task)
	}
	if task, _ := s.Task(ctx, *cancelled.Stages[0].TaskID); task.AssignedAgent != nil {
		t.Fatalf("a cancelled pipeline's stage was assigned: %+v", task)
	}
	if waits, _ := s.Waiting(ctx, "Developer", 10); len(waits) != 0 {
		t.Fatalf("waits left: %+v", waits)
	}
}
