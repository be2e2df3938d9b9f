package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
)

// The board under many writers (issue 27): 10 clients move and reorder 40
// cards for 20 s; then, with every writer stopped, each card must be in
// exactly one column, each column ordered 0..n-1, the list and each card read
// alone must agree, and the integrity check must find nothing. No request may
// ever get a 5xx. Three rounds, each on a fresh project.
const (
	workloadClients = 10
	workloadCards   = 40
	workloadFor     = 20 * time.Second
	workloadRounds  = 3
)

// boardSteps are the one-step moves of the board.
var boardSteps = map[string][]string{"Todo": {"Doing"}, "Doing": {"Todo", "Review"}, "Review": {"Doing", "Done"}, "Done": {"Review"}}

// tally counts answers by request kind and status code, safely across clients.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	bad    []string // the first few 5xx and transport errors, with their bodies
}

func (t *tally) add(kind string, status int, body []byte, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := fmt.Sprintf("%s %d", kind, status)
	if err != nil {
		key = kind + " transport-error"
	}
	t.counts[key]++
	if (status >= 500 || err != nil) && len(t.bad) < 10 {
		t.bad = append(t.bad, fmt.Sprintf("%s: %d %v %.300s", kind, status, err, body))
	}
}

func (t *tally) fivexx() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, v := range t.counts {
		if strings.HasSuffix(k, "transport-error") || strings.Contains(k, " 5") {
			n += v
		}
	}
	return n
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(t.counts)) {
		fmt.Fprintf(&b, "  %-28s %6d\n", k, t.counts[k])
	}
	return b.String()
}

// boardClient is one HTTP client of the workload; it never fails the test
// from its goroutine, it counts.
type boardClient struct {
	http  *http.Client
	key   string
	tally *tally
}

func (c *boardClient) call(kind, method, path, body string) (int, map[string]any) {
	req, err := http.NewRequest(method, ep.Gateways["vapora"]+path, strings.NewReader(body))
	if err != nil {
		c.tally.add(kind, 0, nil, err)
		return 0, nil
	}
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		c.tally.add(kind, 0, nil, err)
		return 0, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	c.tally.add(kind, res.StatusCode, raw, nil)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// boardView is what the clients believe of the board: each card's column.
type boardView struct {
	mu     sync.Mutex
	status map[string]string
}

func (v *boardView) set(task map[string]any) {
	id, _ := task["id"].(string)
	st, _ := task["status"].(string)
	if id == "" || st == "" {
		return
	}
	v.mu.Lock()
	v.status[id] = st
	v.mu.Unlock()
}

// pick chooses a card, its column and that column's size as believed now.
func (v *boardView) pick(ids []string) (string, string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := ids[rand.IntN(len(ids))]
	n := 0
	for _, st := range v.status {
		if st == v.status[id] {
			n++
		}
	}
	return id, v.status[id], n
}

// work is one client: random one-step moves and reorders until the deadline.
func (c *boardClient) work(ids []string, view *boardView, until time.Time) {
	for time.Now().Before(until) {
		id, st, size := view.pick(ids)
		var status int
		var body map[string]any
		if rand.IntN(2) == 0 {
			to := boardSteps[st][rand.IntN(len(boardSteps[st]))]
			status, body = c.call("PUT /status", "PUT", "/tasks/"+id+"/status", fmt.Sprintf(`{"status":%q}`, to))
		} else {
			status, body = c.call("PUT /order", "PUT", "/tasks/"+id+"/order", fmt.Sprintf(`{"order":%d}`, rand.IntN(max(size, 1))))
		}
		switch status {
		case http.StatusOK:
			view.set(body)
		case http.StatusConflict, http.StatusBadRequest: // stale: look again
			if s, task := c.call("GET /tasks/{id}", "GET", "/tasks/"+id, ""); s == http.StatusOK {
				view.set(task)
			}
		}
	}
}

func TestVaporaBoardWorkload(t *testing.T) {
	if ep.APIKey == "" || ep.Gateways["vapora"] == "" {
		t.Skip("the target has no vapora gateway with devstack credentials")
	}
	total := &tally{counts: map[string]int{}}
	for round := 1; round <= workloadRounds; round++ {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) { boardRound(t, total) })
	}
	t.Logf("answers over %d rounds (%d clients, %d cards, %s each):\n%s", workloadRounds, workloadClients, workloadCards, workloadFor, total)
	if n := total.fivexx(); n > 0 {
		t.Errorf("%d answers were 5xx or transport errors; first ones:\n%s", n, strings.Join(total.bad, "\n"))
	}
}

// boardRound runs the workload once on a fresh project, then checks the board.
func boardRound(t *testing.T, total *tally) {
	admin := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	pid := admin.must(201, "POST", "/projects", fmt.Sprintf(`{"name":%q,"scope":"demo"}`, unique("board-workload")))["id"].(string)
	view := &boardView{status: map[string]string{}}
	var ids []string
	for i := range workloadCards {
		task := admin.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"card %d"}`, pid, i))
		ids = append(ids, task["id"].(string))
		view.set(task)
	}
	round := &tally{counts: map[string]int{}}
	transport := &http.Transport{MaxIdleConnsPerHost: workloadClients, MaxConnsPerHost: 2 * workloadClients}
	defer transport.CloseIdleConnections()
	until := time.Now().Add(workloadFor)
	var wg sync.WaitGroup
	for range workloadClients {
		c := &boardClient{http: &http.Client{Transport: transport, Timeout: 30 * time.Second}, key: ep.APIKey, tally: round}
		wg.Go(func() { c.work(ids, view, until) })
	}
	wg.Wait()
	t.Logf("project %s, answers:\n%s", pid, round)
	for k, v := range round.counts {
		total.counts[k] += v
	}
	total.bad = append(total.bad, round.bad...)
	if n := round.fivexx(); n > 0 {
		t.Errorf("%d answers were 5xx or transport errors", n)
	}
	checkBoardInvariants(t, admin, pid, ids)
	checkNoRepair(t, pid)
}

// checkBoardInvariants checks the board with no writer left: every card in
// exactly one column, each column's orders 0..n-1, the list and each card
// read alone agreeing, and the integrity check clean.
func checkBoardInvariants(t *testing.T, c caller, pid string, ids []string) {
	t.Helper()
	listed := tasksOf(c, pid)
	where := map[string][]string{}
	orders := map[string][]int{}
	for _, task := range listed {
		id, st, ord := task["id"].(string), task["status"].(string), int(task["order"].(float64))
		where[id] = append(where[id], fmt.Sprintf("%s#%d", st, ord))
		orders[st] = append(orders[st], ord)
		alone := c.must(200, "GET", "/tasks/"+id, "")
		if alone["status"] != task["status"] || alone["order"] != task["order"] {
			t.Errorf("%s: listed %s#%d, read alone %v#%v", id, st, ord, alone["status"], alone["order"])
		}
	}
	if len(listed) != len(ids) {
		t.Errorf("%d cards listed, want %d", len(listed), len(ids))
	}
	for _, id := range ids {
		if len(where[id]) != 1 {
			t.Errorf("card %s is listed in %d places: %v", id, len(where[id]), where[id])
		}
	}
	for st, ords := range orders {
		slices.Sort(ords)
		for i, o := range ords {
			if o != i {
				t.Errorf("column %s orders %v, want 0..%d", st, ords, len(ords)-1)
				break
			}
		}
	}
	rep := c.must(200, "GET", "/projects/"+pid+"/integrity", "")
	if rep["clean"] != true {
		raw, _ := json.MarshalIndent(rep["problems"], "", " ")
		t.Errorf("the integrity check found problems:\n%s", raw)
	}
}

// checkNoRepair fails if the scheduled board check (run every second here)
// had to repair the project during the workload: that too means the board broke.
func checkNoRepair(t *testing.T, pid string) {
	t.Helper()
	if ep.NATS == "" {
		return
	}
	msgs, err := connectBus(t).ReadStream(ctx(t), "VAPORA", events.SubjectBoardRepaired, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		var ev events.BoardRepaired
		if json.Unmarshal(m.Data, &ev) == nil && ev.ProjectID == pid {
			raw, _ := json.Marshal(ev.Findings)
			t.Errorf("the scheduled board check repaired the board during the workload (re-ranked %v, index rebuilt %v): %s",
				ev.Reranked, ev.RebuiltIndex, raw)
		}
	}
}

// `stratum vapora check` against the gateway, as a person runs it.
func TestVaporaBoardCheckCLI(t *testing.T) {
	if dev == nil || ep.APIKey == "" {
		t.Skip("needs the stratum binary this suite built and the devstack's key")
	}
	admin := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	pid := admin.must(201, "POST", "/projects", `{"name":"cli check","scope":"demo"}`)["id"].(string)
	for i := range 3 {
		admin.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"c%d"}`, pid, i))
	}
	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(dev.bin, append([]string{"vapora", "check"}, args...)...)
		cmd.Env = append(os.Environ(), "VAPORA_URL="+ep.Gateways["vapora"], "VAPORA_API_KEY="+ep.APIKey)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
	if out, errOut, code := run(pid); code != 0 || !strings.Contains(out, "Board: clean") || !strings.Contains(out, "Todo 3") {
		t.Errorf("check of a sound board: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run(pid, "--repair", "--format", "json"); code != 0 || !strings.Contains(out, `"before"`) {
		t.Errorf("repair of a sound board: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run("prj_nope"); code != 3 || !strings.Contains(errOut, "404") {
		t.Errorf("an unknown project: exit %d, stderr %q; want 3 naming the 404", code, errOut)
	}
	if _, errOut, code := run(); code != 2 || !strings.Contains(errOut, "project id") {
		t.Errorf("no project: exit %d, stderr %q; want 2", code, errOut)
	}
	if _, errOut, code := run(pid, "--format", "yaml"); code != 2 || !strings.Contains(errOut, "--format") {
		t.Errorf("a bad flag value: exit %d, stderr %q; want 2", code, errOut)
	}
	if out, _, code := run("--help"); code != 0 || !strings.Contains(out, "Exit status") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	// A key the gateway does not know is refused.
	if _, errOut, code := run(pid, "--api-key", "not-a-key"); code != 3 || !strings.Contains(errOut, "401") {
		t.Errorf("a bad key: exit %d, stderr %q", code, errOut)
	}
}

// The integrity routes: the same scopes as the other project routes, and bad
// input named.
func TestVaporaBoardIntegrityRoutes(t *testing.T) {
	if ep.JWTSecret == "" || ep.Gateways["vapora"] == "" {
		t.Skip("the target has no devstack credentials to sign callers with")
	}
	alice := jwtCaller(t, "alice", "acme")
	bob := jwtCaller(t, "bob", "globex")
	pid := alice.must(201, "POST", "/projects", `{"name":"integrity","scope":"acme"}`)["id"].(string)
	alice.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"one"}`, pid))
	rep := alice.must(200, "GET", "/projects/"+pid+"/integrity", "")
	if rep["clean"] != true || rep["tasks"] != 1.0 || rep["project_id"] != pid {
		t.Fatalf("report: %v", rep)
	}
	fixed := alice.must(200, "POST", "/projects/"+pid+"/integrity/repair", "")
	if after, _ := fixed["after"].(map[string]any); after["clean"] != true {
		t.Fatalf("repair of a sound board: %v", fixed)
	}
	for _, c := range []struct {
		who                caller
		method, path, body string
		status             int
		want               string
	}{
		{bob, "GET", "/projects/" + pid + "/integrity", "", 404, "not found"},
		{bob, "POST", "/projects/" + pid + "/integrity/repair", "", 404, "not found"},
		{alice, "GET", "/projects/" + pid + "/integrity?deep=1", "", 400, `"deep"`},
		{alice, "POST", "/projects/" + pid + "/integrity/repair", `{"force":true}`, 400, "force"},
		{alice, "GET", "/projects/bad%20id/integrity", "", 400, "malformed"},
	} {
		r := c.who.do(c.method, c.path, c.body)
		if r.Status != c.status || !strings.Contains(errorMessage(r), c.want) {
			t.Errorf("%s %s %s: %d %q, want %d with %q", c.method, c.path, c.body, r.Status, errorMessage(r), c.status, c.want)
		}
	}
}

// The scheduled vapora-board-check, invoked as EventBridge would: it checks
// every Active project and repairs (and counts) the broken ones.
func TestVaporaBoardCheckScheduled(t *testing.T) {
	if ep.Invoke == "" || ep.APIKey == "" {
		t.Skip("the target has no Lambda Invoke API")
	}
	admin := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	pid := admin.must(201, "POST", "/projects", `{"name":"scheduled check","scope":"demo"}`)["id"].(string)
	admin.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"one"}`, pid))
	client, err := lambdaclient.New(ctx(t), ep.Invoke, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.Invoke(ctx(t), "vapora-board-check", []byte(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Projects, Broken, Repaired int }
	if err := json.Unmarshal(out, &sum); err != nil || sum.Projects < 1 || sum.Repaired != sum.Broken {
		t.Fatalf("summary %s (%v)", out, err)
	}
	t.Logf("vapora-board-check: %s", out)
}
