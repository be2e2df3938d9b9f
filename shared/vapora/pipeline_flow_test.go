package vapora

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func threeStages() []Stage {
	return []Stage{
		{Name: "build", TaskType: "build", Role: "Developer", Rollback: &RollbackSpec{TaskType: "revert", Role: "Developer"}},
		{Name: "test", TaskType: "test", Role: "Tester", Rollback: &RollbackSpec{TaskType: "cleanup", Role: "Tester"}},
		{Name: "deploy", TaskType: "deploy", Role: "DevOps", Approval: &ApprovalGate{Required: true, Approvers: "release", Timeout: "1h"}},
	}
}

func statuses(p Pipeline) string {
	var out []string
	for _, s := range p.Stages {
		out = append(out, s.Status)
	}
	return p.Status + ":" + strings.Join(out, ",")
}

func TestPipelineRunsStagesThroughTheGate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, eff := newPipeline("pipe_1", "prj", "acme", "release", "alice", threeStages(), now)
	if got := statuses(p); got != "Running:Running,Pending,Pending" || len(eff) != 2 || eff[1].Kind != "task" {
		t.Fatalf("start: %s %v", got, eff)
	}
	if *p.Stages[0].TaskID != "pt_pipe_1_0" {
		t.Fatalf("task id %s", *p.Stages[0].TaskID)
	}
	p.onResult(0, false, true, "dev-1", now)
	// A duplicated result changes nothing.
	if eff := p.onResult(0, false, true, "dev-1", now); eff != nil {
		t.Fatalf("duplicate result had effects %v", eff)
	}
	p.onResult(1, false, true, "qa-1", now)
	eff = p.onResult(2, false, true, "ops-1", now)
	if got := statuses(p); got != "Running:Succeeded,Succeeded,AwaitingApproval" || eff[1].Kind != "approval" {
		t.Fatalf("gate: %s %v", got, eff)
	}
	if p.nextDue() == nil || !p.nextDue().Equal(now.Add(time.Hour)) {
		t.Fatalf("due %v", p.nextDue())
	}
	if _, err := p.decide("build", true, "bob", "", now); !errors.As(err, new(*ConflictError)) {
		t.Fatalf("approving a finished stage: %v", err)
	}
	if _, err := p.decide("deploy", true, "bob", "ok", now); err != nil {
		t.Fatal(err)
	}
	if got := statuses(p); got != "Succeeded:Succeeded,Succeeded,Succeeded" || *p.Stages[2].Approver != "bob" {
		t.Fatalf("end: %s", got)
	}
	if _, err := p.decide("deploy", true, "bob", "", now); err == nil {
		t.Fatal("a second approval was accepted")
	}
}

func TestRejectedGateRollsBackInReverse(t *testing.T) {
	now := time.Now()
	p, _ := newPipeline("pipe_2", "prj", "acme", "release", "alice", threeStages(), now)
	p.onResult(0, false, true, "", now)
	p.onResult(1, false, true, "", now)
	p.onResult(2, false, true, "", now)
	eff, err := p.decide("deploy", false, "bob", "not today", now)
	if err != nil {
		t.Fatal(err)
	}
	// Stage "test" rolls back first.
	if p.Status != PipelineRollingBack || len(eff) != 2 || eff[1] != (Effect{Kind: "task", Stage: 1, Rollback: true}) {
		t.Fatalf("%s %v", statuses(p), eff)
	}
	if eff := p.onResult(0, true, true, "", now); eff != nil || p.Stages[0].RollbackStatus != nil {
		t.Fatal("stage build rolled back out of order")
	}
	eff = p.onResult(1, true, true, "", now)
	if eff[1] != (Effect{Kind: "task", Stage: 0, Rollback: true}) {
		t.Fatalf("then build: %v", eff)
	}
	p.onResult(0, true, true, "", now)
	if got := statuses(p); got != "RolledBack:RolledBack,RolledBack,Failed" || *p.FailedStage != "deploy" {
		t.Fatalf("%s", got)
	}
}

func TestFailedRollbackNamesTheStage(t *testing.T) {
	now := time.Now()
	p, _ := newPipeline("pipe_3", "prj", "acme", "release", "alice", threeStages(), now)
	p.onResult(0, false, true, "", now)
	p.onResult(1, false, false, "", now) // test fails: build rolls back
	p.onResult(0, true, false, "", now)
	if p.Status != PipelineRollbackFailed || *p.FailedStage != "build" {
		t.Fatalf("%s %v", statuses(p), p.FailedStage)
	}
}

func TestGateTimesOutAndCancel(t *testing.T) {
	now := time.Now()
	stages := threeStages()[2:]
	p, _ := newPipeline("pipe_4", "prj", "acme", "ship", "alice", stages, now)
	p.onResult(0, false, true, "", now)
	if eff := p.expire(now.Add(59 * time.Minute)); eff != nil {
		t.Fatal("expired early")
	}
	p.expire(now.Add(time.Hour))
	if got := statuses(p); got != "Failed:Failed" || *p.Stages[0].Comment != "approval timed out" {
		t.Fatalf("%s", got)
	}
	q, _ := newPipeline("pipe_5", "prj", "acme", "release", "alice", threeStages(), now)
	eff, err := q.cancel(now)
	if err != nil || eff[0].Kind != "release" || statuses(q) != "Cancelled:Cancelled,Cancelled,Cancelled" {
		t.Fatalf("%s %v %v", statuses(q), eff, err)
	}
	if eff := q.onResult(0, false, true, "", now); eff != nil {
		t.Fatal("a result after cancel moved the pipeline")
	}
	if _, err := q.cancel(now); err == nil {
		t.Fatal("cancelled twice")
	}
}

func TestStageTaskIDs(t *testing.T) {
	for _, c := range []struct {
		id       string
		pipeline string
		stage    int
		rollback bool
		ok       bool
	}{
		{"pt_pipe_0123abcd_4", "pipe_0123abcd", 4, false, true},
		{"pr_pipe_0123abcd_0", "pipe_0123abcd", 0, true, true},
		{"task_0123", "", 0, false, false},
		{"pt_pipe_x_99", "", 0, false, false},
		{"pt_nounderscore", "", 0, false, false},
	} {
		p, s, rb, ok := ParseStageTask(c.id)
		if ok != c.ok || p != c.pipeline || s != c.stage || rb != c.rollback {
			t.Errorf("%s: %s %d %v %v", c.id, p, s, rb, ok)
		}
	}
}

func TestCheckStagesNamesTheStage(t *testing.T) {
	for want, stages := range map[string][]Stage{
		"at least one stage":        {},
		`"a": duplicate`:            {{Name: "a", TaskType: "x", Role: "Developer"}, {Name: "a", TaskType: "x", Role: "Developer"}},
		`"b": role "Wizard"`:        {{Name: "b", TaskType: "x", Role: "Wizard"}},
		`"c": task_type "Bad Type"`: {{Name: "c", TaskType: "Bad Type", Role: "Developer"}},
		`"d": approval.timeout`:     {{Name: "d", TaskType: "x", Role: "Developer", Approval: &ApprovalGate{Required: true, Approvers: "ops", Timeout: "soon"}}},
		`"e": rollback.role`:        {{Name: "e", TaskType: "x", Role: "Developer", Rollback: &RollbackSpec{TaskType: "y", Role: "Nobody"}}},
	} {
		err := CheckStages(stages)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if err := CheckStages(threeStages()); err != nil {
		t.Fatal(err)
	}
}
