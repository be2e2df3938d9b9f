package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// The README's Vapora calls, in its order and with its bodies: a project, a
// task moved to Doing, an agent registered, the task assigned by role, and
// the board read both ways.
func TestReadmeVapora(t *testing.T) {
	if ep.Gateways["vapora"] == "" {
		t.Skip("no vapora gateway")
	}
	dev := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	pid := dev.must(201, "POST", "/projects", `{"name":"website","scope":"demo"}`)["id"].(string)
	task := dev.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"review PR 42","tags":["review"]}`, pid))["id"].(string)
	dev.must(200, "PUT", "/tasks/"+task+"/status", `{"status":"Doing"}`)
	agent := unique("reviewer")
	dev.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"CodeReviewer"}`, agent))
	if got := dev.must(200, "POST", "/tasks/"+task+"/assign", `{"role":"CodeReviewer"}`); got["agent"] == nil {
		t.Fatalf("assign: %v", got)
	}
	ids := func(path string) string {
		var out []string
		for _, v := range dev.must(200, "GET", path, "")["tasks"].([]any) {
			out = append(out, v.(map[string]any)["id"].(string))
		}
		return strings.Join(out, ",")
	}
	if board, alias := ids("/projects/"+pid+"/tasks"), ids("/tasks?project_id="+pid); board != task || alias != board {
		t.Fatalf("the board lists %q and GET /tasks?project_id= %q, want %q", board, alias, task)
	}
	if r := dev.do("GET", "/tasks", ""); r.Status != 400 || !strings.Contains(fmt.Sprint(r.Body), "project_id") {
		t.Fatalf("GET /tasks without project_id: %d %v", r.Status, r.Body)
	}
}
