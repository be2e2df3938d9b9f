package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
)

// The knowledge routes against a Kogral holding seeded executions: search in
// the caller's scope's graph, similar past tasks, an agent's learning curve.
func TestVaporaKnowledge(t *testing.T) {
	if ep.JWTSecret == "" || ep.Gateways["vapora"] == "" || ep.Gateways["kogral"] == "" {
		t.Skip("the target has no devstack credentials or no Kogral")
	}
	run := unique("kn")
	scope := run + "-team"
	alice := jwtCaller(t, "alice", scope)
	admin := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	// The team writes its own graph; the other graph is another tenant's.
	kogral := func(method, path, body, graph string) response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx(t), method, ep.Gateways["kogral"]+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+systemToken(t, "kogral", "seeder", graph))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		r := response{Status: res.StatusCode, Body: map[string]any{}}
		_ = json.NewDecoder(res.Body).Decode(&r.Body)
		return r
	}
	// Kogral holds past executions in the team's graph, and one in another graph.
	for i, c := range []struct{ graph, title, status string }{
		{scope, "deploy payments service to staging", "success"},
		{scope, "deploy payments service to production", "failure"},
		{run + "-other", "deploy payments service elsewhere", "success"},
	} {
		body := fmt.Sprintf(`{"id":"%s.exec-%d","node_type":"execution","title":%q,"content":%q,"graph_id":%q,"metadata":{"status":%q,"duration_ms":%d}}`,
			c.graph, i, c.title, c.title+": rolled out with the usual checklist", c.graph, c.status, 60000*(i+1))
		if r := kogral("POST", "/nodes", body, c.graph); r.Status != 201 {
			t.Fatalf("seed Kogral: %d %v", r.Status, r.Body)
		}
	}
	var hits []any
	eventually(t, "Kogral finds the seeded executions", 20*time.Second, func() bool {
		r := alice.must(200, "POST", "/knowledge/query", `{"query":"payments","types":["Execution"],"limit":10}`)
		hits, _ = r["hits"].([]any)
		return r["graph"] == scope && len(hits) == 2
	})
	for _, h := range hits {
		if g := h.(map[string]any)["graph"]; g != scope {
			t.Errorf("a hit from graph %v", g)
		}
	}

	// An agent does one deploy task; a second deploy task finds it.
	agent := run + "-ops"
	admin.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"DevOps"}`, agent))
	pid := alice.must(201, "POST", "/projects", fmt.Sprintf(`{"name":"kn","scope":%q}`, scope))["id"].(string)
	first := alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"deploy payments","tags":["deploy"]}`, pid))["id"].(string)
	second := alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"deploy payments service again","tags":["deploy"]}`, pid))["id"].(string)
	alice.must(200, "POST", "/tasks/"+first+"/assign", fmt.Sprintf(`{"agent_id":%q}`, agent))
	eventually(t, "the assignment applied", 20*time.Second, func() bool { return alice.must(200, "GET", "/tasks/"+first, "")["status"] == "Doing" })
	b := connectBus(t)
	publish(t, b, events.SubjectTaskResult, events.TaskResult{ID: run + "-res", TaskID: first, AgentID: agent, Status: "success", DurationMs: 90000})
	eventually(t, "the result applied", 20*time.Second, func() bool { return alice.must(200, "GET", "/tasks/"+first, "")["status"] == "Review" })
	// The same agent fails a deploy task of another tenant: alice sees nothing of it.
	rival := jwtCaller(t, "rita", run+"-rival")
	rpid := rival.must(201, "POST", "/projects", fmt.Sprintf(`{"name":"rival","scope":"%s-rival"}`, run))["id"].(string)
	theirs := rival.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"deploy payments service for rival","tags":["deploy"]}`, rpid))["id"].(string)
	rival.must(200, "POST", "/tasks/"+theirs+"/assign", fmt.Sprintf(`{"agent_id":%q}`, agent))
	eventually(t, "the rival's assignment applied", 20*time.Second, func() bool { return rival.must(200, "GET", "/tasks/"+theirs, "")["status"] == "Doing" })
	publish(t, b, events.SubjectTaskResult, events.TaskResult{ID: run + "-rival-res", TaskID: theirs, AgentID: agent, Status: "failure", DurationMs: 7000})
	eventually(t, "the rival's result applied", 20*time.Second, func() bool { return rival.must(200, "GET", "/tasks/"+theirs, "")["status"] == "Todo" })

	sim := alice.must(200, "GET", "/knowledge/similar/"+second, "")
	same := sim["same_type"].([]any)
	if sim["task_type"] != "deploy" || len(same) != 1 || same[0].(map[string]any)["task_id"] != first || same[0].(map[string]any)["duration_ms"] != float64(90000) {
		t.Errorf("same type (the team's one deploy, not the rival's): %v", sim)
	}
	similar := sim["similar"].([]any)
	if len(similar) == 0 {
		t.Fatalf("no similar execution from Kogral: %v", sim)
	}
	for _, s := range similar {
		s := s.(map[string]any)
		if s["graph"] != scope || s["outcome"] == nil || s["duration_ms"] == nil {
			t.Errorf("similar: %v", s)
		}
	}

	curve := alice.must(200, "GET", "/knowledge/learning/"+agent, "")
	types := curve["task_types"].([]any)
	if len(types) != 1 {
		t.Fatalf("curve: %v", curve)
	}
	deploy := types[0].(map[string]any)
	weeks := deploy["weeks"].([]any)
	if deploy["task_type"] != "deploy" || len(weeks) != 1 || weeks[0].(map[string]any)["executions"] != float64(1) ||
		weeks[0].(map[string]any)["success_rate"] != float64(1) || deploy["expertise"] == nil {
		t.Errorf("curve (the team's one success, not the rival's failure): %v", curve)
	}
	rweeks := rival.must(200, "GET", "/knowledge/learning/"+agent, "")["task_types"].([]any)[0].(map[string]any)["weeks"].([]any)
	if len(rweeks) != 1 || rweeks[0].(map[string]any)["success_rate"] != float64(0) {
		t.Errorf("the rival's curve: %v", rweeks)
	}

	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/knowledge/query", `{"query":""}`, 400},
		{"POST", "/knowledge/query", `{"query":"x","types":["Essay"]}`, 400},
		{"POST", "/knowledge/query", `{"query":"x","limit":1000}`, 400},
		{"POST", "/knowledge/query", `{"query":"x","scope":"someone-else"}`, 403},
		{"GET", "/knowledge/similar/task_nope", "", 404},
		{"GET", "/knowledge/learning/nobody-" + run, "", 404},
	} {
		if got := alice.do(c.method, c.path, c.body); got.Status != c.status {
			t.Errorf("%s %s %s: %d %v, want %d", c.method, c.path, c.body, got.Status, got.Body, c.status)
		}
	}
}
