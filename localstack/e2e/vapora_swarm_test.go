package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The swarm places tasks on Ready agents without filling any past load 1.0,
// reports per role, and balances.
func TestVaporaSwarm(t *testing.T) {
	if ep.JWTSecret == "" || ep.Gateways["vapora"] == "" {
		t.Skip("the target has no devstack credentials to sign callers with")
	}
	run := unique("sw")
	scope := run + "-team"
	alice := jwtCaller(t, "alice", scope, "agents")
	b := connectBus(t)
	// A role of its own, so that no other test's agents take the tasks.
	keepAgents(t, b, alice, run, map[string]string{"mon-a": "Monitor", "mon-b": "Monitor"})
	pid := alice.must(201, "POST", "/projects", fmt.Sprintf(`{"name":"swarm","scope":%q}`, scope))["id"].(string)

	// Ten new tasks, two agents of four tasks each: eight placed, two not.
	var tasks []string
	for i := range 10 {
		tasks = append(tasks, fmt.Sprintf(`{"title":"watch %d","role":"Monitor","task_type":"watch"}`, i))
	}
	out := alice.must(200, "POST", "/swarm/assign", fmt.Sprintf(`{"project_id":%q,"tasks":[%s]}`, pid, strings.Join(tasks, ",")))
	assigned, unplaced := out["assigned"].([]any), out["unplaced"].([]any)
	perAgent := map[string]int{}
	for _, a := range assigned {
		perAgent[a.(map[string]any)["agent"].(map[string]any)["id"].(string)]++
	}
	if len(assigned) != 8 || len(unplaced) != 2 || perAgent[run+"-mon-a"] != 4 || perAgent[run+"-mon-b"] != 4 {
		t.Fatalf("assigned %d (%v), unplaced %d: %v", len(assigned), perAgent, len(unplaced), unplaced)
	}
	if reason := unplaced[0].(map[string]any)["reason"].(string); !strings.Contains(reason, "load") {
		t.Errorf("unplaced reason %q", reason)
	}
	eventually(t, "the swarm shows the Monitor tasks", 20*time.Second, func() bool {
		for _, r := range alice.must(200, "GET", "/swarm/status", "")["roles"].([]any) {
			role := r.(map[string]any)
			if role["role"] == "Monitor" {
				return role["queued"].(float64)+role["in_progress"].(float64) >= 8
			}
		}
		return false
	})
	found := false
	for _, a := range alice.must(200, "GET", "/swarm/agents", "")["agents"].([]any) {
		ag := a.(map[string]any)
		if ag["id"] == run+"-mon-a" {
			found = len(ag["tasks"].([]any)) == 4
		}
	}
	if !found {
		t.Error("GET /swarm/agents does not show mon-a with its four tasks")
	}
	// Agents are shared, the tasks they hold are not: another tenant sees
	// mon-a, and none of alice's tasks on it.
	for _, a := range jwtCaller(t, "mallory", run+"-rival").must(200, "GET", "/swarm/agents", "")["agents"].([]any) {
		if ag := a.(map[string]any); ag["id"] == run+"-mon-a" && len(ag["tasks"].([]any)) != 0 {
			t.Errorf("another tenant sees mon-a's tasks: %v", ag["tasks"])
		}
	}
	dry := alice.must(200, "POST", "/swarm/balance?dry_run=true", `{"threshold":0.8}`)
	if dry["dry_run"] != true {
		t.Errorf("dry run: %v", dry)
	}
	for _, c := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/swarm/balance", `{"threshold":1.5}`, 400, "threshold"},
		{"/swarm/balance", `{"threshold":0}`, 400, "threshold"},
		{"/swarm/balance?dry_run=maybe", `{"threshold":0.5}`, 400, "dry_run"},
		{"/swarm/assign", fmt.Sprintf(`{"project_id":%q,"tasks":[{"title":"x","role":"Wizard"}]}`, pid), 400, "role"},
		{"/swarm/assign", fmt.Sprintf(`{"project_id":%q}`, pid), 400, "task_ids"},
	} {
		got := alice.do("POST", c.path, c.body)
		if got.Status != c.status || !strings.Contains(errorMessage(got), c.want) {
			t.Errorf("POST %s %s: %d %v, want %d naming %q", c.path, c.body, got.Status, got.Body, c.status, c.want)
		}
	}
	if got := jwtCaller(t, "bob", scope).do("POST", "/swarm/balance", `{"threshold":0.5}`); got.Status != http.StatusForbidden {
		t.Errorf("balancing without the agents scope: %d", got.Status)
	}
}
