package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
)

const consumer = "portfolio-on-execution"

func portfolio(t *testing.T) string {
	t.Helper()
	u := ep.Gateways["portfolio"]
	if u == "" {
		t.Fatal("no portfolio gateway in the endpoints")
	}
	return u
}

type response struct {
	Status int
	Body   map[string]any
	Header http.Header
}

// send calls url with the devstack's API key (scope demo); sendAs with other
// credentials (none when header is "").
func send(t *testing.T, method, url, body string) response {
	t.Helper()
	return sendAs(t, "X-API-Key", ep.APIKey, method, url, body)
}

func sendAs(t *testing.T, header, value, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if header != "" && value != "" {
		req.Header.Set(header, value)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header}
	if len(raw) > 0 && json.Unmarshal(raw, &out.Body) != nil {
		t.Fatalf("%s %s: non-JSON body %q", method, url, raw)
	}
	return out
}

func errorMessage(r response) string {
	e, _ := r.Body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// needs skips a test whose target lacks a devstack feature.
func needs(t *testing.T, devstackOnly, faults bool) {
	t.Helper()
	if devstackOnly && !ep.Devstack {
		t.Skip("the target has no gateway-level /health and /metrics (API Gateway routes only catalog routes)")
	}
	if faults && !ep.FaultInjection {
		t.Skip("the target's consumers do not inject faults (stratum dev --fault-injection)")
	}
}

func TestHealthReady(t *testing.T) {
	needs(t, true, false)
	r := send(t, "GET", portfolio(t)+"/health/ready", "")
	checks, _ := r.Body["checks"].(map[string]any)
	if r.Status != 200 || checks["surrealdb"] != "ok" || checks["nats"] != "ok" {
		t.Fatalf("ready: %d %v", r.Status, r.Body)
	}
	if r := send(t, "GET", portfolio(t)+"/health/live", ""); r.Status != 200 {
		t.Fatalf("live: %d", r.Status)
	}
}

func TestExecutionRoundTrip(t *testing.T) {
	project := unique("roundtrip")
	r := send(t, "POST", portfolio(t)+"/executions",
		`{"project":"`+project+`","scope":"demo","source":"provisioning","task_type":"apply","status":"success","duration_ms":3100,"metadata":{"workflow":"wf-1"}}`)
	if r.Status != 201 || r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("create: %d %v", r.Status, r.Body)
	}
	id := r.Body["id"].(string)
	got := send(t, "GET", portfolio(t)+"/executions/"+id, "")
	if got.Status != 200 || got.Body["project"] != project || got.Body["metadata"].(map[string]any)["workflow"] != "wf-1" {
		t.Fatalf("read back: %d %v", got.Status, got.Body)
	}
	list := send(t, "GET", portfolio(t)+"/executions?source=provisioning&project="+project, "")
	if list.Status != 200 || len(list.Body["executions"].([]any)) != 1 {
		t.Fatalf("list: %d %v", list.Status, list.Body)
	}
}

func TestGatewayBadInput(t *testing.T) {
	base := portfolio(t)
	cases := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/executions", `{"project":`, 400, "malformed JSON"},
		{"POST", "/executions", `{"project":"p","scope":"demo","source":"vapora","task_type":"t","status":"ok","duration_ms":1,"extra":1}`, 400, `unknown field "extra"`},
		{"POST", "/executions", `{"project":"p","scope":"demo","source":"vapora","task_type":"t","status":"ok","duration_ms":"1"}`, 400, `field "duration_ms"`},
		{"POST", "/executions", `{"project":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "exceeds"},
		{"GET", "/executions/" + unique("missing"), "", 404, "not found"},
	}
	if ep.Devstack { // API Gateway answers unrouted requests itself, with its own body
		cases = append(cases, []struct {
			method, path, body string
			status             int
			want               string
		}{
			{"GET", "/nowhere", "", 404, "not found"},
			{"PUT", "/executions", "", 405, "not allowed"},
		}...)
	}
	for _, tc := range cases {
		r := send(t, tc.method, base+tc.path, tc.body)
		if r.Status != tc.status || !strings.Contains(errorMessage(r), tc.want) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, r.Status, errorMessage(r), tc.status, tc.want)
		}
	}
}

func connectBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(ctx(t), ep.NATS, "e2e", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func executionEvent(project string) events.ExecutionRecorded {
	agent := "agent-7"
	return events.ExecutionRecorded{ID: unique("evt"), Project: project, Scope: "demo", Source: "vapora", TaskType: "code_review",
		AgentID: &agent, Status: "success", DurationMs: 900, Metadata: map[string]any{"task_id": "t-1"},
		OccurredAt: time.Now().UTC().Truncate(time.Millisecond)}
}

func countInProject(t *testing.T, project string) int {
	t.Helper()
	r := send(t, "GET", portfolio(t)+"/executions?project="+project, "")
	if r.Status != 200 {
		t.Fatalf("list: %d %v", r.Status, r.Body)
	}
	return len(r.Body["executions"].([]any))
}

// Publishing the same event twice (same Nats-Msg-Id), and once more under a new
// message id as a second publisher would, stores it exactly once.
func TestEventStoredOnceWhenPublishedTwice(t *testing.T) {
	b := connectBus(t)
	project := unique("dedup")
	ev := executionEvent(project)
	for i, msgID := range []string{ev.ID, ev.ID, "other-publisher-" + ev.ID} {
		dup, err := b.Publish(ctx(t), events.SubjectExecutionRecorded, msgID, ev, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 1; dup != want {
			t.Fatalf("publish %d: duplicate=%v, want %v", i, dup, want)
		}
	}
	eventually(t, "the event's execution", 10*time.Second, func() bool {
		return send(t, "GET", portfolio(t)+"/executions/"+ev.ID, "").Status == 200
	})
	time.Sleep(500 * time.Millisecond) // let the republished copy be processed too
	if n := countInProject(t, project); n != 1 {
		t.Fatalf("%d executions stored for one event", n)
	}
	got := send(t, "GET", portfolio(t)+"/executions/"+ev.ID, "")
	if got.Body["event_id"] != ev.ID || got.Body["agent_id"] != "agent-7" {
		t.Fatalf("stored %v", got.Body)
	}
}

func metric(t *testing.T, series string) float64 {
	t.Helper()
	res, err := http.Get(portfolio(t) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(regexp.QuoteMeta(series) + ` (\S+)`).FindSubmatch(raw)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestFailingTwiceThenSucceedingIsRedelivered(t *testing.T) {
	needs(t, true, true)
	b := connectBus(t)
	retriedSeries := `stratum_messages_total{function="` + consumer + `",outcome="retried"}`
	before := metric(t, retriedSeries)
	ev := executionEvent(unique("retry"))
	if _, err := b.Publish(ctx(t), events.SubjectExecutionRecorded, ev.ID, ev,
		map[string]string{"Stratum-Fault-Fail-Attempts": "2"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the execution after two failed attempts", 20*time.Second, func() bool {
		return send(t, "GET", portfolio(t)+"/executions/"+ev.ID, "").Status == 200
	})
	if d := metric(t, retriedSeries) - before; d < 2 {
		t.Fatalf("retried %v times, want ≥ 2", d)
	}
	if n := countInProject(t, ev.Project); n != 1 {
		t.Fatalf("%d records", n)
	}
	if dl := deadLetters(t, b, ev.ID); len(dl) != 0 {
		t.Fatalf("a message that succeeded was dead-lettered: %v", dl)
	}
}

func deadLetters(t *testing.T, b *bus.Bus, msgID string) []bus.StreamMessage {
	t.Helper()
	all, err := b.ReadStream(ctx(t), "DEADLETTER", "deadletter."+consumer, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []bus.StreamMessage
	for _, m := range all {
		if m.Headers[bus.HeaderOriginalMsgID] == msgID {
			out = append(out, m)
		}
	}
	return out
}

func TestAlwaysFailingLandsInDeadLetter(t *testing.T) {
	needs(t, false, true)
	b := connectBus(t)
	ev := executionEvent(unique("dlq"))
	if _, err := b.Publish(ctx(t), events.SubjectExecutionRecorded, ev.ID, ev,
		map[string]string{"Stratum-Fault-Fail-Attempts": "99"}); err != nil {
		t.Fatal(err)
	}
	var dl []bus.StreamMessage
	eventually(t, "the dead letter", 30*time.Second, func() bool {
		dl = deadLetters(t, b, ev.ID)
		return len(dl) > 0
	})
	m := dl[0]
	if m.Headers[bus.HeaderAttempts] != "5" || !strings.Contains(m.Headers[bus.HeaderError], "injected fault: attempt 5") {
		t.Fatalf("dead letter headers %v", m.Headers)
	}
	var kept events.ExecutionRecorded
	if err := json.Unmarshal(m.Data, &kept); err != nil || kept.ID != ev.ID || kept.Project != ev.Project {
		t.Fatalf("original message not kept: %s", m.Data)
	}
	if r := send(t, "GET", portfolio(t)+"/executions/"+ev.ID, ""); r.Status != 404 {
		t.Fatalf("a dead-lettered event was stored: %d", r.Status)
	}
}

func TestInvalidEventDeadLetteredWithoutRetries(t *testing.T) {
	b := connectBus(t)
	id := unique("bad")
	bad := map[string]any{"id": id, "project": "", "source": "vapora", "task_type": "t", "status": "ok",
		"duration_ms": 1, "occurred_at": time.Now().UTC()}
	if _, err := b.Publish(ctx(t), events.SubjectExecutionRecorded, id, bad, nil); err != nil {
		t.Fatal(err)
	}
	var dl []bus.StreamMessage
	eventually(t, "the dead letter", 10*time.Second, func() bool {
		dl = deadLetters(t, b, id)
		return len(dl) > 0
	})
	if dl[0].Headers[bus.HeaderAttempts] != "1" || !strings.Contains(dl[0].Headers[bus.HeaderError], "project") {
		t.Fatalf("headers %v", dl[0].Headers)
	}
}

// The AWS SDK's Lambda client calls functions through the devstack's Invoke API
// with the event shapes Lambda uses.
func TestLambdaInvokeAPI(t *testing.T) {
	client, err := lambdaclient.New(ctx(t), ep.Invoke, "")
	if err != nil {
		t.Fatal(err)
	}
	project := unique("invoke")
	body := `{"project":"` + project + `","scope":"demo","source":"typedialog","task_type":"render","status":"success","duration_ms":5}`
	ev := lambdaevents.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /executions", RawPath: "/executions",
		Headers: map[string]string{"content-type": "application/json", "x-api-key": ep.APIKey}, Body: body,
		RequestContext: lambdaevents.APIGatewayV2HTTPRequestContext{RequestID: "e2e-req-1",
			HTTP: lambdaevents.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/executions"}},
	}
	payload, _ := json.Marshal(ev)
	out, err := client.Invoke(ctx(t), "portfolio-executions", payload)
	if err != nil {
		t.Fatal(err)
	}
	var res lambdaevents.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 201 || res.Headers["X-Request-Id"] != "e2e-req-1" || !strings.Contains(res.Body, project) {
		t.Fatalf("invoke response %+v", res)
	}
	if n := countInProject(t, project); n != 1 {
		t.Fatalf("created %d via invoke", n)
	}
	// A consumer invoked with a malformed delivery reports a function error typed as permanent.
	_, err = client.Invoke(ctx(t), consumer, []byte(`{"subject":"x","data":{"id":5}}`))
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "PermanentError" {
		t.Fatalf("want a PermanentError function error, got %v", err)
	}
	if _, err := client.Invoke(ctx(t), "portfolio-nope", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown function: %v", err)
	}
}

// Killing SurrealDB while the devstack runs: requests answer 503 (never 500)
// while it is down, the supervisor brings it back, and the data is still there.
func TestSurrealCrashKeepsData(t *testing.T) {
	if !own {
		t.Skip("SurrealDB belongs to an external stack")
	}
	if strings.HasPrefix(ep.SurrealStorage, "mem://") {
		t.Skip("in-memory SurrealDB cannot keep data across a crash")
	}
	project := unique("crash")
	var ids []string
	for i := range 20 {
		r := send(t, "POST", portfolio(t)+"/executions",
			fmt.Sprintf(`{"project":%q,"scope":"demo","source":"vapora","task_type":"t","status":"ok","duration_ms":%d}`, project, i))
		if r.Status != 201 {
			t.Fatalf("create %d: %d", i, r.Status)
		}
		ids = append(ids, r.Body["id"].(string))
	}
	pid := surrealPID()
	if pid == 0 {
		t.Fatal("SurrealDB process not found")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	statuses := map[int]int{}
	eventually(t, "SurrealDB back and ready", 60*time.Second, func() bool {
		r := send(t, "GET", portfolio(t)+"/executions/"+ids[0], "")
		statuses[r.Status]++
		if r.Status != 200 && r.Status != 503 {
			t.Fatalf("while SurrealDB restarts: %d %v", r.Status, r.Body)
		}
		return r.Status == 200 && surrealPID() != 0 && surrealPID() != pid
	})
	if n := countInProject(t, project); n != len(ids) {
		t.Fatalf("%d of %d executions survived the crash", n, len(ids))
	}
	if r := send(t, "GET", portfolio(t)+"/health/ready", ""); r.Status != 200 {
		t.Fatalf("not ready after restart: %v", r.Body)
	}
	t.Logf("responses while SurrealDB was down and back: %v", statuses)
}

// Portfolio answers only authenticated callers, and each only about its own
// scopes' executions; a token minted for another system is refused.
func TestPortfolioScopes(t *testing.T) {
	if ep.JWTSecret == "" || ep.APIKey == "" {
		t.Skip("the target has no devstack credentials to sign callers with")
	}
	base := portfolio(t)
	project := unique("scopes")
	body := `{"project":"` + project + `","scope":"demo","source":"vapora","task_type":"t","status":"ok","duration_ms":1}`
	if r := sendAs(t, "", "", "POST", base+"/executions", body); r.Status != 401 {
		t.Fatalf("anonymous write: %d %v", r.Status, r.Body)
	}
	if r := sendAs(t, "", "", "GET", base+"/executions?project="+project, ""); r.Status != 401 {
		t.Fatalf("anonymous list: %d %v", r.Status, r.Body)
	}
	globex := "Bearer " + systemToken(t, "portfolio", "mallory", "globex")
	if r := sendAs(t, "Authorization", globex, "POST", base+"/executions", body); r.Status != 403 {
		t.Fatalf("a write into another scope: %d %v", r.Status, r.Body)
	}
	forVapora := "Bearer " + systemToken(t, "vapora", "alice", "demo")
	if r := sendAs(t, "Authorization", forVapora, "GET", base+"/executions?project="+project, ""); r.Status != 401 ||
		!strings.Contains(errorMessage(r), "invalid token") {
		t.Fatalf("vapora's token at the portfolio: %d %v", r.Status, r.Body)
	}
	r := send(t, "POST", base+"/executions", body)
	if r.Status != 201 {
		t.Fatalf("create: %d %v", r.Status, r.Body)
	}
	id := r.Body["id"].(string)
	if got := sendAs(t, "Authorization", globex, "GET", base+"/executions/"+id, ""); got.Status != 404 {
		t.Fatalf("globex reads demo's execution: %d %v", got.Status, got.Body)
	}
	if got := sendAs(t, "Authorization", globex, "GET", base+"/executions?project="+project, ""); got.Status != 200 ||
		len(got.Body["executions"].([]any)) != 0 {
		t.Fatalf("globex lists demo's executions: %d %v", got.Status, got.Body)
	}
	// An execution announced on the bus for globex is globex's alone.
	ev := executionEvent(project)
	ev.Scope = "globex"
	if _, err := connectBus(t).Publish(ctx(t), events.SubjectExecutionRecorded, ev.ID, ev, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "globex's execution", 10*time.Second, func() bool {
		return sendAs(t, "Authorization", globex, "GET", base+"/executions/"+ev.ID, "").Status == 200
	})
	if got := send(t, "GET", base+"/executions/"+ev.ID, ""); got.Status != 404 {
		t.Fatalf("demo reads globex's execution: %d", got.Status)
	}
	if n := countInProject(t, project); n != 1 {
		t.Fatalf("demo lists %d executions of the project, want its own 1", n)
	}
}
