package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stratumiops/stratumiops/events"
)

// Vapora's card history, pipelines panel and live agents page in a real
// headless Chromium (issue 22).

// TestVaporaCardHistoryInBrowser: the history API pages and refuses other
// scopes; the card's details show its history, and a change made through the
// API while the card is open shows up in it without a reload.
func TestVaporaCardHistoryInBrowser(t *testing.T) {
	base := ep.Gateways["vapora"]
	if base == "" || ep.APIKey == "" || ep.JWTSecret == "" {
		t.Skip("no vapora gateway, API key or JWT secret")
	}
	dev := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	project := dev.must(201, "POST", "/projects", fmt.Sprintf(`{"name":%q,"scope":"demo"}`, unique("ui-history")))["id"].(string)
	other := dev.must(201, "POST", "/projects", fmt.Sprintf(`{"name":%q,"scope":"demo"}`, unique("ui-history-other")))["id"].(string)
	task := dev.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"Has a past"}`, project))["id"].(string)
	agent := unique("hist-agent")
	dev.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"Developer"}`, agent))
	dev.must(200, "PUT", "/tasks/"+task+"/status", `{"status":"Doing"}`)
	dev.must(200, "POST", "/tasks/"+task+"/assign", fmt.Sprintf(`{"agent_id":%q}`, agent))
	history := "/projects/" + project + "/tasks/" + task + "/history"

	t.Run("api", func(t *testing.T) {
		api := dev
		api.t = t
		all := api.must(200, "GET", history, "")
		var kinds []string
		for _, e := range all["entries"].([]any) {
			m := e.(map[string]any)
			kinds = append(kinds, fmt.Sprint(m["kind"], ":", m["to_status"]))
			if m["by"] == "" || m["at"] == "" {
				t.Fatalf("entry without who or when: %v", m)
			}
		}
		if got := strings.Join(kinds, " "); !strings.HasPrefix(got, "created:Todo status:Doing assigned:Doing") {
			t.Fatalf("history %q", got)
		}
		page := api.must(200, "GET", history+"?limit=1&offset=1", "")
		if n := len(page["entries"].([]any)); n != 1 || page["more"] != true {
			t.Fatalf("second page of one: %v", page)
		}
		if got := api.do("GET", history+"?limit=0", ""); got.Status != 400 {
			t.Fatalf("limit=0: %d", got.Status)
		}
		if got := api.do("GET", "/projects/"+other+"/tasks/"+task+"/history", ""); got.Status != 404 {
			t.Fatalf("the task under another project: %d", got.Status)
		}
		outsider := jwtCaller(t, unique("outsider"), "ui-other")
		if got := outsider.do("GET", history, ""); got.Status != 404 {
			t.Fatalf("another scope's caller: %d", got.Status)
		}
	})

	t.Run("details", func(t *testing.T) {
		a := startBrowser(t)()
		a.t = t
		a.do(chromedp.Navigate(base + "/ui/projects/" + project + "?token=" + ep.APIKey))
		a.until("the board is live", `document.querySelector('#board')?.dataset.live === 'on'`)
		a.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q] .title`, task))))
		count := `Number(document.querySelector('#details-history')?.dataset.count || 0)`
		a.until("the history shows three changes", count+` >= 3 && document.querySelector('#details-history').getAttribute('aria-busy') === 'false'`)
		text := a.eval(`document.querySelector('#details-history').innerText`)
		for _, want := range []string{"created in Todo", "moved Todo → Doing", "assignee nobody → @" + agent, "by "} {
			if !strings.Contains(text, want) {
				t.Fatalf("history lacks %q:\n%s", want, text)
			}
		}
		dev.must(200, "PUT", "/tasks/"+task+"/status", `{"status":"Review"}`)
		a.until("the open card's history shows the API's move", `document.querySelector('#details-history').innerText.includes('moved Doing → Review')`)
	})

	t.Run("executions with cost", func(t *testing.T) {
		// An agent of its own: the first one sends no heartbeats, and on a
		// busy machine the browser steps above outlast the offline sweep.
		agent := unique("exec-agent")
		dev.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"Developer"}`, agent))
		run := dev.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"Was run"}`, project))["id"].(string)
		dev.must(200, "PUT", "/tasks/"+run+"/status", `{"status":"Doing"}`)
		dev.must(200, "POST", "/tasks/"+run+"/assign", fmt.Sprintf(`{"agent_id":%q}`, agent))
		publish(t, connectBus(t), events.SubjectTaskResult, events.TaskResult{ID: unique("exec-res"), TaskID: run, AgentID: agent,
			Status: "success", DurationMs: 2500, Tokens: 1500, InputTokens: 1000, OutputTokens: 500, CostCents: 1.25})
		executions := "/projects/" + project + "/tasks/" + run + "/executions"
		api := dev
		api.t = t
		deadline := time.Now().Add(20 * time.Second)
		for {
			ex := api.must(200, "GET", executions, "")
			if ex["total"] == float64(1) {
				if ex["total_cost_cents"] != 1.25 {
					t.Fatalf("executions: %v", ex)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the result never showed as an execution: %v", ex)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := api.do("GET", "/projects/"+other+"/tasks/"+run+"/executions", ""); got.Status != 404 {
			t.Fatalf("the task under another project: %d", got.Status)
		}
		a := startBrowser(t)()
		a.t = t
		a.do(chromedp.Navigate(base + "/ui/projects/" + project + "?token=" + ep.APIKey))
		a.until("the board is live", `document.querySelector('#board')?.dataset.live === 'on'`)
		a.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q] .title`, run))))
		a.until("the details list the execution", `document.querySelector('#details-executions')?.dataset.count === '1'`)
		text := a.eval(`document.querySelector('#details-executions').innerText`)
		for _, want := range []string{"@" + agent, "succeeded", "1000 in / 500 out", "$0.0125", "1 execution"} {
			if !strings.Contains(text, want) {
				t.Fatalf("executions lack %q:\n%s", want, text)
			}
		}
	})
}

const panelStages = `[
	{"name":"build","task_type":"build","role":"Developer"},
	{"name":"deploy","task_type":"deploy","role":"DevOps","approval":{"required":true,"approvers":"release","timeout":"1h"}}]`

// TestVaporaPipelinesPanelInBrowser: the panel lists a project's pipelines
// with their stages' states, follows them live as the agents answer, offers
// no decision to the requester (whom the API refuses), and takes an approver's.
func TestVaporaPipelinesPanelInBrowser(t *testing.T) {
	base := ep.Gateways["vapora"]
	if base == "" || ep.JWTSecret == "" {
		t.Skip("no vapora gateway or JWT secret")
	}
	run := unique("panel")
	alice := jwtCaller(t, "alice", "acme", "agents", "release")
	b := connectBus(t)
	r := pipelineRun{t: t, alice: alice, b: b, run: run}
	keepAgents(t, b, alice, run, map[string]string{"dev": "Developer", "ops": "DevOps"})
	pid := alice.must(201, "POST", "/projects", `{"name":"panel","scope":"acme"}`)["id"].(string)
	jwtCaller(t, "root", "acme", "vapora-admin").must(200, "PUT", "/projects/"+pid, `{"approvers":"release"}`)
	id := alice.must(201, "POST", "/pipelines", fmt.Sprintf(`{"project_id":%q,"name":"ship it","stages":%s}`, pid, panelStages))["id"].(string)

	newTab := startBrowser(t)
	requester, approver := newTab(), newTab()
	panel := base + "/ui/projects/" + pid + "/pipelines?token="
	stage := func(name string) string {
		return fmt.Sprintf(`(document.querySelector('[data-pipeline-id=%q] [data-stage=%q]')?.dataset.stageStatus || '')`, id, name)
	}
	requester.do(chromedp.Navigate(panel + systemToken(t, "vapora", "alice", "acme", "agents", "release")))
	approver.do(chromedp.Navigate(panel + systemToken(t, "vapora", "bob", "acme", "release")))
	for _, tab := range []tab{requester, approver} {
		tab.until("the panel is live and lists the pipeline", `document.querySelector('#pipelines')?.dataset.live === 'on' && `+stage("build")+` !== ''`)
	}
	r.advance(id, 0, "success", "Succeeded", nil)
	r.advance(id, 1, "success", "AwaitingApproval", nil)
	for _, tab := range []tab{requester, approver} {
		tab.until("the gate shows without a reload", stage("build")+` === 'Succeeded' && `+stage("deploy")+` === 'AwaitingApproval'`)
	}
	approveSel := fmt.Sprintf(`[data-pipeline-id=%q] [data-stage="deploy"] button.approve`, id)
	// The requester may not decide: the page offers no button, and the API refuses.
	if got := requester.eval(fmt.Sprintf(`String(document.querySelector(%q) === null)`, approveSel)); got != "true" {
		t.Fatalf("the requester is offered Approve")
	}
	if got := alice.do("POST", "/pipelines/"+id+"/approve", `{"stage":"deploy","decision":"approve"}`); got.Status != 403 {
		t.Fatalf("the requester's approval through the API: %d", got.Status)
	}
	if s := stageOf(r.get(id), 1)["status"]; s != "AwaitingApproval" {
		t.Fatalf("after the requester's attempt the gate is %v", s)
	}
	approver.until("the approver is offered Approve", fmt.Sprintf(`document.querySelector(%q) !== null`, approveSel))
	approver.click("the approver approves", approveSel)
	approver.until("the approver's decision passes the gate", stage("deploy")+` === 'Succeeded'`)
	requester.until("the other page follows", fmt.Sprintf(`document.querySelector('[data-pipeline-id=%q]')?.dataset.status === 'Succeeded'`, id))
}

// TestVaporaAgentsPageLive: an agent registered while the agents page is
// open shows up on it without a reload.
func TestVaporaAgentsPageLive(t *testing.T) {
	base := ep.Gateways["vapora"]
	if base == "" || ep.APIKey == "" {
		t.Skip("no vapora gateway or API key")
	}
	dev := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	a := startBrowser(t)()
	a.do(chromedp.Navigate(base + "/ui/agents?token=" + ep.APIKey))
	a.until("the agents page is live", `document.querySelector('#agents')?.dataset.live === 'on'`)
	agent := unique("live-agent")
	dev.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"Tester"}`, agent))
	a.until("the new agent shows up Ready", fmt.Sprintf(`document.querySelector('[data-agent-id=%q]')?.dataset.agentStatus === 'Ready'`, agent))
}
