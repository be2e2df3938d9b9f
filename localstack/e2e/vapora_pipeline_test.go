package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// pipelineRun drives pipelines through the gateway, with agents that answer
// over NATS.
type pipelineRun struct {
	t     *testing.T
	alice caller
	b     *bus.Bus
	run   string
}

func (r pipelineRun) get(id string) map[string]any {
	return r.alice.must(200, "GET", "/pipelines/"+id, "")
}

func stageOf(p map[string]any, i int) map[string]any {
	return p["stages"].([]any)[i].(map[string]any)
}

// assigned waits until stage i's task (or its rollback task) has an agent, and returns both.
func (r pipelineRun) assigned(id string, i int, rollback bool) (task, agent string) {
	r.t.Helper()
	eventually(r.t, fmt.Sprintf("stage %d of %s assigned (rollback %v)", i, id, rollback), 20*time.Second, func() bool {
		s := stageOf(r.get(id), i)
		key := "task_id"
		if rollback {
			key = "rollback_task_id"
		}
		task, _ = s[key].(string)
		if task == "" {
			return false
		}
		got := r.alice.do("GET", "/tasks/"+task, "") // 404 until the stage's effects ran
		agent, _ = got.Body["assigned_agent"].(string)
		return got.Status == 200 && agent != ""
	})
	return task, agent
}

// answer publishes an agent's result for a task, with extra headers.
func (r pipelineRun) answer(msgID, task, agent, status string, headers map[string]string) {
	r.t.Helper()
	ev := events.TaskResult{ID: msgID, TaskID: task, AgentID: agent, Status: status, DurationMs: 1200}
	if _, err := r.b.Publish(ctx(r.t), events.SubjectTaskResult, msgID, ev, headers); err != nil {
		r.t.Fatal(err)
	}
}

// advance answers stage i's task and waits for the stage to reach want.
func (r pipelineRun) advance(id string, i int, status, want string, headers map[string]string) {
	r.t.Helper()
	task, agent := r.assigned(id, i, false)
	r.answer(r.run+"-res-"+task, task, agent, status, headers)
	eventually(r.t, fmt.Sprintf("stage %d of %s %s", i, id, want), 20*time.Second, func() bool {
		return stageOf(r.get(id), i)["status"] == want
	})
}

const pipelineStages = `[
	{"name":"build","task_type":"build","role":"Developer","rollback":{"task_type":"revert","role":"Developer"}},
	{"name":"test","task_type":"test","role":"Tester","rollback":{"task_type":"cleanup","role":"Tester"}},
	{"name":"deploy","task_type":"deploy","role":"DevOps","approval":{"required":true,"approvers":"release","timeout":"1h"}}]`

// Pipelines through the gateway and NATS: stages handed between roles, an
// approval gate under Cedar, rollback in reverse, cancel, duplicated and
// redelivered results, and a gate that times out on the schedule.
func TestVaporaPipeline(t *testing.T) {
	if ep.JWTSecret == "" || ep.Gateways["vapora"] == "" {
		t.Skip("the target has no devstack credentials to sign callers with")
	}
	run := unique("pl")
	alice := jwtCaller(t, "alice", "acme", "agents", "release") // requests; holds the approver group too
	bob := jwtCaller(t, "bob", "acme", "release")
	carol := jwtCaller(t, "carol", "acme")
	mallory := jwtCaller(t, "mallory", "globex", "release")
	b := connectBus(t)
	r := pipelineRun{t: t, alice: alice, b: b, run: run}
	keepAgents(t, b, alice, run, map[string]string{"dev": "Developer", "qa": "Tester", "ops": "DevOps"})
	root := jwtCaller(t, "root", "acme", "vapora-admin")
	pid := alice.must(201, "POST", "/projects", `{"name":"pipelines","scope":"acme"}`)["id"].(string)
	// The approver group is the project's configuration: a gate cannot
	// start before its administrators set it, and the requester cannot set it.
	gated := fmt.Sprintf(`{"project_id":%q,"name":"early","stages":%s}`, pid, pipelineStages)
	if got := alice.do("POST", "/pipelines", gated); got.Status != 400 || !strings.Contains(errorMessage(got), "no approver group") {
		t.Fatalf("a gate before the project has approvers: %d %v", got.Status, got.Body)
	}
	if got := alice.do("PUT", "/projects/"+pid, `{"approvers":"release"}`); got.Status != 403 {
		t.Fatalf("a member setting the approver group: %d %v", got.Status, got.Body)
	}
	if p := root.must(200, "PUT", "/projects/"+pid, `{"approvers":"release"}`); p["approvers"] != "release" {
		t.Fatalf("the administrator setting the approver group: %v", p)
	}
	create := func(name, stages string) string {
		p := alice.must(201, "POST", "/pipelines", fmt.Sprintf(`{"project_id":%q,"name":%q,"stages":%s}`, pid, name, stages))
		if p["status"] != "Running" || stageOf(p, 0)["status"] != "Running" {
			t.Fatalf("created: %v", p)
		}
		return p["id"].(string)
	}

	t.Run("three stages, a gate, duplicated and redelivered results advance once", func(t *testing.T) {
		r.t = t
		id := create("release", pipelineStages)
		// The build result is redelivered after its consumers ran (as if they
		// died before the ack), and published a second time under another id.
		task, agent := r.assigned(id, 0, false)
		r.answer(run+"-res-"+task, task, agent, "success", map[string]string{function.FaultAfterHeader: "1"})
		r.answer(run+"-dup-"+task, task, agent, "success", nil)
		eventually(t, "build succeeded", 20*time.Second, func() bool { return stageOf(r.get(id), 0)["status"] == "Succeeded" })
		r.advance(id, 1, "success", "Succeeded", nil)
		r.advance(id, 2, "success", "AwaitingApproval", nil)

		body := `{"stage":"deploy","decision":"approve","comment":"ship it"}`
		for who, c := range map[string]struct {
			c      caller
			status int
		}{"the requester": {alice, 403}, "a non-approver": {carol, 403}, "another tenant": {mallory, 404}} {
			if got := c.c.do("POST", "/pipelines/"+id+"/approve", body); got.Status != c.status {
				t.Errorf("%s approving: %d %v, want %d", who, got.Status, got.Body, c.status)
			}
		}
		if got := bob.do("POST", "/pipelines/"+id+"/approve", `{"stage":"build","decision":"approve"}`); got.Status != 409 {
			t.Errorf("approving a stage not awaiting approval: %d", got.Status)
		}
		p := bob.must(200, "POST", "/pipelines/"+id+"/approve", body)
		deploy := stageOf(p, 2)
		if p["status"] != "Succeeded" || deploy["approver"] != "bob" || deploy["comment"] != "ship it" {
			t.Fatalf("after approval: %v", p)
		}
		// create, three results, one approval: five writes, however often the results came.
		time.Sleep(500 * time.Millisecond) // let the redelivery and the duplicate land
		if v := r.get(id)["version"]; v != float64(5) {
			t.Fatalf("version %v: a result advanced the pipeline more than once", v)
		}
		if got := bob.do("POST", "/pipelines/"+id+"/approve", body); got.Status != 409 {
			t.Errorf("approving twice: %d", got.Status)
		}
		stageEvents(t, b, id, "build:Running build:Succeeded test:Running test:Succeeded deploy:Running deploy:AwaitingApproval deploy:Succeeded")
	})

	t.Run("a rejected gate rolls the succeeded stages back in reverse", func(t *testing.T) {
		r.t = t
		id := create("rejected", pipelineStages)
		r.advance(id, 0, "success", "Succeeded", nil)
		r.advance(id, 1, "success", "Succeeded", nil)
		r.advance(id, 2, "success", "AwaitingApproval", nil)
		p := bob.must(200, "POST", "/pipelines/"+id+"/approve", `{"stage":"deploy","decision":"reject","comment":"no"}`)
		if p["status"] != "RollingBack" || stageOf(p, 2)["status"] != "Failed" || stageOf(p, 0)["rollback_task_id"] != nil {
			t.Fatalf("after the rejection: %v", p)
		}
		task, agent := r.assigned(id, 1, true)
		r.answer(run+"-rb-"+task, task, agent, "success", nil)
		task, agent = r.assigned(id, 0, true)
		r.answer(run+"-rb-"+task, task, agent, "success", nil)
		eventually(t, "rolled back", 20*time.Second, func() bool { return r.get(id)["status"] == "RolledBack" })
		p = r.get(id)
		if p["failed_stage"] != "deploy" || stageOf(p, 0)["status"] != "RolledBack" || stageOf(p, 1)["status"] != "RolledBack" {
			t.Fatalf("rolled back: %v", p)
		}
		stageEvents(t, b, id, "build:Running build:Succeeded test:Running test:Succeeded deploy:Running deploy:AwaitingApproval deploy:Failed test:RolledBack build:RolledBack")
	})

	t.Run("cancel releases the running task; a late result changes nothing", func(t *testing.T) {
		r.t = t
		id := create("cancelled", pipelineStages)
		task, agent := r.assigned(id, 0, false)
		if got := carol.do("POST", "/pipelines/"+id+"/cancel", ""); got.Status != 200 {
			// carol holds acme: she may write the project's pipelines.
			t.Fatalf("cancel: %d %v", got.Status, got.Body)
		}
		p := r.get(id)
		if p["status"] != "Cancelled" || stageOf(p, 0)["status"] != "Cancelled" || stageOf(p, 1)["status"] != "Cancelled" {
			t.Fatalf("cancelled: %v", p)
		}
		eventually(t, "the task released", 20*time.Second, func() bool {
			tk := alice.must(200, "GET", "/tasks/"+task, "")
			return tk["status"] == "Todo" && tk["assigned_agent"] == nil
		})
		r.answer(run+"-late-"+task, task, agent, "success", nil)
		time.Sleep(500 * time.Millisecond)
		if p := r.get(id); p["status"] != "Cancelled" || p["version"] != float64(2) {
			t.Fatalf("after a late result: %v", p)
		}
		if got := alice.do("POST", "/pipelines/"+id+"/cancel", ""); got.Status != 409 {
			t.Errorf("cancelling twice: %d", got.Status)
		}
	})

	t.Run("a gate that times out fails its stage on the schedule", func(t *testing.T) {
		r.t = t
		id := create("timeout", `[{"name":"ship","task_type":"deploy","role":"DevOps","approval":{"required":true,"approvers":"release","timeout":"1s"}}]`)
		r.advance(id, 0, "success", "AwaitingApproval", nil)
		eventually(t, "the gate timed out", 30*time.Second, func() bool { return r.get(id)["status"] == "Failed" })
		if s := stageOf(r.get(id), 0); s["status"] != "Failed" || s["comment"] != "approval timed out" {
			t.Fatalf("timed out: %v", s)
		}
	})

	t.Run("lists and bad input", func(t *testing.T) {
		list := alice.must(200, "GET", "/pipelines?project_id="+pid, "")["pipelines"].([]any)
		if len(list) != 4 {
			t.Errorf("%d pipelines listed, want 4", len(list))
		}
		if got := mallory.do("GET", "/pipelines?project_id="+pid, ""); got.Status != 404 {
			t.Errorf("another tenant listing: %d", got.Status)
		}
		for _, c := range []struct{ stages, want string }{
			{`[]`, "at least one stage"},
			{`[{"name":"a","task_type":"x","role":"Developer"},{"name":"a","task_type":"x","role":"Developer"}]`, `stage "a": duplicate`},
			{`[{"name":"b","task_type":"x","role":"Wizard"}]`, `stage "b": role`},
			{`[{"name":"c","task_type":"Not A Type","role":"Developer"}]`, `stage "c": task_type`},
			{`[{"name":"d","task_type":"deploy","role":"DevOps","approval":{"required":true,"approvers":"alices-friends"}}]`, `stage "d": approval.approvers`},
		} {
			got := alice.do("POST", "/pipelines", fmt.Sprintf(`{"project_id":%q,"name":"bad","stages":%s}`, pid, c.stages))
			msg := errorMessage(got)
			if got.Status != 400 || !strings.Contains(msg, c.want) {
				t.Errorf("stages %s: %d %s, want 400 naming %q", c.stages, got.Status, msg, c.want)
			}
		}
	})
}

// keepAgents registers one agent per role and keeps it beating, Ready.
func keepAgents(t *testing.T, b *bus.Bus, admin caller, run string, roles map[string]string) {
	t.Helper()
	var ids []string
	for name, role := range roles {
		id := run + "-" + name
		admin.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":%q}`, id, role))
		ids = append(ids, id)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			for _, id := range ids {
				hb := events.Heartbeat{ID: fmt.Sprintf("hb-%s-%d", id, n), AgentID: id, Status: "Ready", CurrentLoad: 0}
				_, _ = b.Publish(ctx(t), events.SubjectAgentHeartbeat, hb.ID, hb, nil)
			}
		}
	}()
}

// stageEvents checks the pipeline's stage events on NATS, in order.
func stageEvents(t *testing.T, b *bus.Bus, id, want string) {
	t.Helper()
	var got []string
	eventually(t, "stage events", 10*time.Second, func() bool {
		msgs, err := b.ReadStream(ctx(t), "VAPORA", events.SubjectPipelineStage, 100000)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, m := range msgs {
			var ev events.StageEvent
			if json.Unmarshal(m.Data, &ev) == nil && ev.PipelineID == id {
				got = append(got, ev.Stage+":"+ev.Status)
			}
		}
		return strings.Join(got, " ") == want
	})
}
