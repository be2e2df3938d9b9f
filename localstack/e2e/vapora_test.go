package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// heartbeatEvery is VAPORA_HEARTBEAT_INTERVAL in the devstack under test:
// an agent silent for three of them goes Offline.
const heartbeatEvery = time.Second

// caller sends requests to a system's gateway (Vapora's unless system is
// set) with one set of credentials.
type caller struct {
	t      *testing.T
	header string
	value  string
	system string
}

func (c caller) do(method, path, body string) response {
	c.t.Helper()
	system := c.system
	if system == "" {
		system = "vapora"
	}
	req, err := http.NewRequestWithContext(ctx(c.t), method, ep.Gateways[system]+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.header != "" {
		req.Header.Set(c.header, c.value)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	r := response{Status: res.StatusCode, Header: res.Header, Body: map[string]any{}}
	_ = json.NewDecoder(res.Body).Decode(&r.Body)
	return r
}

// must expects status and returns the body.
func (c caller) must(status int, method, path, body string) map[string]any {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.Status != status {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, r.Status, r.Body, status)
	}
	return r.Body
}

func jwtCaller(t *testing.T, subject string, scopes ...string) caller {
	t.Helper()
	return jwtCallerOf(t, "vapora", subject, scopes...)
}

// jwtCallerOf calls system's gateway with a JWT minted for that system
// (its issuer and audience).
func jwtCallerOf(t *testing.T, system, subject string, scopes ...string) caller {
	t.Helper()
	return caller{t: t, header: "Authorization", value: "Bearer " + systemToken(t, system, subject, scopes...), system: system}
}

// systemToken is a devstack JWT minted for system (its issuer and audience).
func systemToken(t *testing.T, system, subject string, scopes ...string) string {
	t.Helper()
	auth, err := principal.New(principal.Config{JWTSecret: ep.JWTSecret}.ForSystem(system))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue(subject, scopes, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tasksOf(c caller, project string) []map[string]any {
	var out []map[string]any
	for _, v := range c.must(200, "GET", "/projects/"+project+"/tasks", "")["tasks"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// Vapora through its gateway and NATS, as agents and people use it.
func TestVapora(t *testing.T) {
	if ep.JWTSecret == "" || ep.Gateways["vapora"] == "" {
		t.Skip("the target has no devstack credentials to sign callers with")
	}
	admin := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	alice := jwtCaller(t, "alice", "acme", "agents")
	bob := jwtCaller(t, "bob", "globex")
	run := unique("run")
	b := connectBus(t)

	project := alice.must(201, "POST", "/projects", `{"name":"checkout","scope":"acme","description":"payments revamp"}`)
	pid := project["id"].(string)

	t.Run("scopes: another tenant's project does not exist for you", func(t *testing.T) {
		for _, p := range bob.must(200, "GET", "/projects", "")["projects"].([]any) {
			if p.(map[string]any)["id"] == pid {
				t.Fatal("bob lists alice's project")
			}
		}
		task := alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"secret"}`, pid))
		for _, path := range []string{"/projects/" + pid, "/projects/" + pid + "/tasks", "/tasks/" + task["id"].(string)} {
			if r := bob.do("GET", path, ""); r.Status != 404 {
				t.Errorf("bob GET %s: %d, want 404", path, r.Status)
			}
		}
		if r := bob.do("PUT", "/tasks/"+task["id"].(string)+"/status", `{"status":"Doing"}`); r.Status != 404 {
			t.Errorf("bob moving alice's task: %d", r.Status)
		}
		if r := bob.do("POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"x"}`, pid)); r.Status != 404 {
			t.Errorf("bob adding a task to alice's project: %d", r.Status)
		}
		if r := alice.do("POST", "/projects", `{"name":"x","scope":"globex"}`); r.Status != 403 {
			t.Errorf("alice creating in bob's scope: %d", r.Status)
		}
		alice.must(204, "DELETE", "/tasks/"+task["id"].(string), "")
		if r := (caller{t: t}).do("GET", "/projects", ""); r.Status != 401 {
			t.Errorf("no credentials: %d", r.Status)
		}
		if r := (caller{t: t, header: "Authorization", value: "Bearer not.a.jwt"}).do("GET", "/projects", ""); r.Status != 401 {
			t.Errorf("a bad token: %d", r.Status)
		}
	})

	var ids []string
	for i := range 3 {
		task := alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"review PR %d","priority":"High","tags":["review"]}`, pid, i))
		if task["order"] != float64(i) || task["status"] != "Todo" {
			t.Fatalf("task %d: %v", i, task)
		}
		ids = append(ids, task["id"].(string))
	}

	t.Run("bad input changes nothing", func(t *testing.T) {
		for _, c := range []struct {
			method, path, body string
			status             int
			want               string
		}{
			{"PUT", "/tasks/" + ids[0] + "/status", `{"status":"Done"}`, 409, "one step"},
			{"PUT", "/tasks/" + ids[0] + "/status", `{"status":"Blocked"}`, 400, `status "Blocked": want one of Todo, Doing, Review, Done`},
			{"PUT", "/tasks/" + ids[0] + "/order", `{"order":3}`, 400, "order 3 is outside the Todo column (0–2)"},
			{"PUT", "/tasks/" + ids[0] + "/order", `{"order":-1}`, 400, "outside"},
			{"POST", "/tasks", fmt.Sprintf(`{"project_id":%q}`, pid), 400, "title"},
			{"POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"x","priority":"Urgent"}`, pid), 400, `priority "Urgent"`},
			{"POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"x","colour":"red"}`, pid), 400, "colour"},
			{"POST", "/projects", `{"scope":"acme"}`, 400, "name"},
			{"POST", "/tasks/" + ids[0] + "/assign", `{"role":"Wizard"}`, 400, `role "Wizard"`},
			{"POST", "/tasks/" + ids[0] + "/assign", `{}`, 400, "give agent_id, or role"},
			{"POST", "/tasks/" + ids[0] + "/assign", `{"role":"Marketer"}`, 409, "no Ready agent with role Marketer"},
			{"POST", "/tasks/" + ids[0] + "/assign", `{"agent_id":"nobody-here"}`, 404, "agent"},
			{"POST", "/agents/register", `{"role":"Wizard"}`, 400, "role"},
			{"GET", "/agents/Wizard/expertise", "", 400, "role"},
		} {
			r := alice.do(c.method, c.path, c.body)
			if r.Status != c.status || !strings.Contains(errorMessage(r), c.want) {
				t.Errorf("%s %s %s: %d %q, want %d with %q", c.method, c.path, c.body, r.Status, errorMessage(r), c.status, c.want)
			}
		}
		if r := bob.do("POST", "/agents/register", `{"role":"Tester"}`); r.Status != 403 {
			t.Errorf("registering an agent without the agents scope: %d", r.Status)
		}
		for i, task := range tasksOf(alice, pid) {
			if task["order"] != float64(i) || task["status"] != "Todo" || task["assigned_agent"] != nil {
				t.Fatalf("after bad input the board changed: %v", task)
			}
		}
	})

	t.Run("status moves close the gap and append to the new column", func(t *testing.T) {
		board := alice.must(201, "POST", "/projects", `{"name":"moves","scope":"acme"}`)["id"].(string)
		var col []string
		for i := range 3 {
			col = append(col, alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"m%d"}`, board, i))["id"].(string))
		}
		alice.must(200, "PUT", "/tasks/"+col[0]+"/status", `{"status":"Doing"}`)
		moved := alice.must(200, "PUT", "/tasks/"+col[1]+"/status", `{"status":"Doing"}`)
		if moved["status"] != "Doing" || moved["order"] != 1.0 {
			t.Fatalf("second into Doing: %v", moved)
		}
		alice.must(200, "PUT", "/tasks/"+col[0]+"/status", `{"status":"Review"}`)
		if same := alice.must(200, "PUT", "/tasks/"+col[0]+"/status", `{"status":"Review"}`); same["order"] != 0.0 {
			t.Fatalf("a move to the same status: %v", same)
		}
		want := map[string][2]any{col[2]: {"Todo", 0.0}, col[1]: {"Doing", 0.0}, col[0]: {"Review", 0.0}}
		for _, task := range tasksOf(alice, board) {
			w := want[task["id"].(string)]
			if task["status"] != w[0] || task["order"] != w[1] {
				t.Errorf("%s: %v/%v, want %v/%v", task["title"], task["status"], task["order"], w[0], w[1])
			}
		}
	})

	t.Run("concurrent reorders and moves keep each column dense", func(t *testing.T) {
		other := alice.must(201, "POST", "/projects", `{"name":"reorders","scope":"acme"}`)["id"].(string)
		var col []string
		for i := range 8 {
			col = append(col, alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"c%d"}`, other, i))["id"].(string))
		}
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				r := alice.do("PUT", "/tasks/"+col[i%6]+"/order", fmt.Sprintf(`{"order":%d}`, rand.IntN(6)))
				// A reorder may lose its task to a move, or find the order gone with it.
				if r.Status != 200 && r.Status != 409 && r.Status != 400 && r.Status != 503 {
					t.Errorf("reorder: %d %v", r.Status, r.Body)
				}
			}()
			go func() {
				defer wg.Done()
				status := []string{"Doing", "Todo"}[i/2%2]
				r := alice.do("PUT", "/tasks/"+col[6+i%2]+"/status", fmt.Sprintf(`{"status":%q}`, status))
				if r.Status != 200 && r.Status != 409 {
					t.Errorf("move: %d %v", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		checkDense(t, alice, other)
	})

	t.Run("reordering into one slot again and again", func(t *testing.T) {
		board := alice.must(201, "POST", "/projects", `{"name":"one slot","scope":"acme"}`)["id"].(string)
		var want []string
		for i := range 4 {
			want = append(want, alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"s%d"}`, board, i))["id"].(string))
		}
		// Each time the last task goes to position 1: the gap it lands in
		// halves every time, until the column has to be spread out.
		for range 70 {
			last := want[3]
			moved := alice.must(200, "PUT", "/tasks/"+last+"/order", `{"order":1}`)
			if moved["order"] != 1.0 {
				t.Fatalf("reordered task: %v", moved)
			}
			want = append([]string{want[0], last}, want[1:3]...)
		}
		var got []string
		for _, task := range tasksOf(alice, board) {
			got = append(got, task["id"].(string))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("column %v, want %v", got, want)
		}
		checkDense(t, alice, board)
	})

	// Three reviewers register over NATS and keep beating.
	reviewers := []string{run + "-rev-a", run + "-rev-b", run + "-rev-c"}
	for _, id := range reviewers {
		publish(t, b, events.SubjectAgentRegister, events.AgentRegistration{ID: "reg-" + id, AgentID: id, Role: "CodeReviewer", Capabilities: []string{"go"}})
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			for _, id := range reviewers {
				hb := events.Heartbeat{ID: fmt.Sprintf("hb-%s-%d", id, n), AgentID: id, Status: "Ready", CurrentLoad: 0}
				_, _ = b.Publish(ctx(t), events.SubjectAgentHeartbeat, hb.ID, hb, nil)
			}
		}
	}()
	eventually(t, "three reviewers registered", 10*time.Second, func() bool {
		n := 0
		for _, a := range admin.must(200, "GET", "/agents?role=CodeReviewer", "")["agents"].([]any) {
			if slices.Contains(reviewers, a.(map[string]any)["id"].(string)) {
				n++
			}
		}
		return n == 3
	})

	taskByID := func(id string) map[string]any { return alice.must(200, "GET", "/tasks/"+id, "") }
	result := func(task, agent, status string) events.TaskResult {
		return events.TaskResult{ID: "res-" + task + "-" + agent, TaskID: task, AgentID: agent, Status: status, DurationMs: 60000, Tokens: 900}
	}
	t.Run("results teach expertise; the next assignment prefers the better agent", func(t *testing.T) {
		// rev-a fails a review, rev-b passes one.
		asg := alice.must(200, "POST", "/tasks/"+ids[0]+"/assign", fmt.Sprintf(`{"agent_id":%q,"task_type":"review"}`, reviewers[0]))
		if asg["task"].(map[string]any)["assigned_agent"] != reviewers[0] {
			t.Fatalf("assign: %v", asg)
		}
		eventually(t, "the assignment applied (Doing)", 10*time.Second, func() bool { return taskByID(ids[0])["status"] == "Doing" })
		alice.must(200, "POST", "/tasks/"+ids[1]+"/assign", fmt.Sprintf(`{"agent_id":%q,"task_type":"review"}`, reviewers[1]))
		eventually(t, "the second assignment applied", 10*time.Second, func() bool { return taskByID(ids[1])["status"] == "Doing" })

		publish(t, b, events.SubjectTaskResult, result(ids[0], reviewers[0], "failure"))
		ok := result(ids[1], reviewers[1], "success")
		publish(t, b, events.SubjectTaskResult, ok)
		eventually(t, "results applied", 10*time.Second, func() bool {
			return taskByID(ids[0])["status"] == "Todo" && taskByID(ids[1])["status"] == "Review"
		})
		if taskByID(ids[0])["assigned_agent"] != nil {
			t.Error("a failed task is still assigned")
		}
		var profiles map[string]map[string]any
		eventually(t, "expertise learned", 10*time.Second, func() bool {
			profiles = map[string]map[string]any{}
			for _, e := range admin.must(200, "GET", "/agents/CodeReviewer/expertise", "")["expertise"].([]any) {
				p := e.(map[string]any)
				if p["task_type"] == "review" {
					profiles[p["agent_id"].(string)] = p
				}
			}
			return len(profiles) >= 2
		})
		if profiles[reviewers[1]]["success_rate"] != 1.0 || profiles[reviewers[0]]["success_rate"] != 0.0 {
			t.Fatalf("profiles: %v", profiles)
		}
		// The same result again (same id) has no second effect.
		if dup, err := b.Publish(ctx(t), events.SubjectTaskResult, ok.ID, ok, nil); err != nil || !dup {
			t.Fatalf("republish: duplicate=%v %v", dup, err)
		}
		// Now the board picks rev-b for a review on its own.
		picked := alice.must(200, "POST", "/tasks/"+ids[2]+"/assign", `{"role":"CodeReviewer","task_type":"review"}`)
		if picked["agent"].(map[string]any)["id"] != reviewers[1] {
			t.Fatalf("picked %v, want %s (score %v)", picked["agent"].(map[string]any)["id"], reviewers[1], picked["score"])
		}
		time.Sleep(300 * time.Millisecond)
		for _, e := range admin.must(200, "GET", "/agents/CodeReviewer/expertise", "")["expertise"].([]any) {
			p := e.(map[string]any)
			if p["agent_id"] == reviewers[1] && p["execution_count"] != 1.0 {
				t.Fatalf("a duplicate result counted: %v", p)
			}
		}
		// And each result became a portfolio execution.
		eventually(t, "portfolio executions", 10*time.Second, func() bool {
			r := jwtCallerOf(t, "portfolio", "alice", "acme").do("GET", "/executions?project="+pid, "")
			list, _ := r.Body["executions"].([]any)
			return len(list) == 2
		})
	})

	t.Run("a silent agent goes Offline and its Doing tasks go back to Todo", func(t *testing.T) {
		quiet := run + "-quiet"
		admin.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"Tester"}`, quiet))
		task := alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"flaky test"}`, pid))["id"].(string)
		alice.must(200, "POST", "/tasks/"+task+"/assign", fmt.Sprintf(`{"agent_id":%q}`, quiet))
		eventually(t, "assigned and Doing", 10*time.Second, func() bool { return taskByID(task)["status"] == "Doing" })
		if load := admin.must(200, "GET", "/agents/"+quiet, "")["current_load"]; load != 0.25 {
			t.Errorf("load after one assignment: %v", load)
		}
		eventually(t, "offline after three missed heartbeats", 3*heartbeatEvery+10*time.Second, func() bool {
			return admin.must(200, "GET", "/agents/"+quiet+"/health", "")["status"] == "Offline"
		})
		eventually(t, "the task released", 5*time.Second, func() bool {
			tk := taskByID(task)
			return tk["status"] == "Todo" && tk["assigned_agent"] == nil
		})
		msgs, err := b.ReadStream(ctx(t), "VAPORA", events.SubjectTaskReleased, 1000)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range msgs {
			var ev events.TaskReleased
			if json.Unmarshal(m.Data, &ev) == nil && ev.TaskID == task && ev.AgentID == quiet {
				found = true
			}
		}
		if !found {
			t.Error("no vapora.tasks.released event for the released task")
		}
		if r := alice.do("POST", "/tasks/"+task+"/assign", fmt.Sprintf(`{"agent_id":%q}`, quiet)); r.Status != 409 || !strings.Contains(errorMessage(r), "Offline") {
			t.Errorf("assigning to an Offline agent: %d %q", r.Status, errorMessage(r))
		}
		if h := admin.must(200, "GET", "/agents/"+reviewers[0]+"/health", ""); h["healthy"] != true {
			t.Errorf("a beating agent: %v", h)
		}
	})

	t.Run("an invalid event is dead-lettered", func(t *testing.T) {
		bad := map[string]any{"id": run + "-badhb", "agent_id": reviewers[0], "status": "Sleeping", "current_load": 0.1}
		if _, err := b.Publish(ctx(t), events.SubjectAgentHeartbeat, run+"-badhb", bad, nil); err != nil {
			t.Fatal(err)
		}
		// A heartbeat of an agent that never registered is dead-lettered too,
		// and the valid heartbeats batched with it are recorded.
		stranger := events.Heartbeat{ID: run + "-stranger", AgentID: run + "-nobody", Status: "Ready", CurrentLoad: 0.2}
		if _, err := b.Publish(ctx(t), events.SubjectAgentHeartbeat, stranger.ID, stranger, nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{run + "-badhb", run + "-stranger"} {
			eventually(t, "dead letter "+id, 10*time.Second, func() bool {
				msgs, _ := b.ReadStream(ctx(t), "DEADLETTER", "deadletter.vapora-on-heartbeat", 1000)
				for _, m := range msgs {
					if strings.Contains(string(m.Data), id) {
						return true
					}
				}
				return false
			})
		}
	})

	t.Run("observability", func(t *testing.T) {
		for _, p := range []string{"/health/live", "/health/ready", "/metrics"} {
			if r := (caller{t: t}).do("GET", p, ""); r.Status != 200 {
				t.Errorf("GET %s: %d", p, r.Status)
			}
		}
	})

	alice.must(200, "DELETE", "/projects/"+pid, "")
	if p := alice.must(200, "GET", "/projects/"+pid, ""); p["status"] != "Archived" {
		t.Fatalf("DELETE archives: %v", p)
	}
	if r := alice.do("POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"late"}`, pid)); r.Status != 409 {
		t.Errorf("a task in an archived project: %d", r.Status)
	}
}

func publish(t *testing.T, b *bus.Bus, subject string, v interface{ Validate() error }) {
	t.Helper()
	if err := v.Validate(); err != nil {
		t.Fatalf("test event invalid: %v", err)
	}
	raw, _ := json.Marshal(v)
	var id struct{ ID string }
	_ = json.Unmarshal(raw, &id)
	if _, err := b.Publish(ctx(t), subject, id.ID, v, nil); err != nil {
		t.Fatal(err)
	}
}

// checkDense checks that each column of a board is ordered 0..n-1, in the
// list and in each task read alone.
func checkDense(t *testing.T, c caller, project string) {
	t.Helper()
	next := map[string]int{}
	for _, task := range tasksOf(c, project) {
		status := task["status"].(string)
		if task["order"] != float64(next[status]) {
			t.Errorf("list: %s is %v in %s, want %d", task["title"], task["order"], status, next[status])
		}
		next[status]++
		alone := c.must(200, "GET", "/tasks/"+task["id"].(string), "")
		if alone["order"] != task["order"] || alone["status"] != status {
			t.Errorf("%s read alone: %v/%v, listed %v/%v", task["title"], alone["status"], alone["order"], status, task["order"])
		}
	}
}
